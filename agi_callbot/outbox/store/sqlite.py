"""The embedded outbox store: one SQLite file in WAL mode, one connection, one thread.

Why this shape:

- **WAL + synchronous=NORMAL.** A commit is an append to the WAL without an fsync, so
  ``enqueue`` stays well under a millisecond while a call waits on it. The database
  stays consistent in every case, and a committed row survives the process being killed
  (``kill -9``, an OOM kill, a crash): the WAL is in the OS page cache the moment
  ``COMMIT`` returns. Only a power cut or kernel panic can lose the last commits before
  the next checkpoint; ``synchronous=FULL`` closes that window at the price of one
  fsync per enqueue (``benchmarks/outbox.py`` prints both figures). Set
  ``outbox: {store: "sqlite?synchronous=full"}`` where power loss matters more than
  latency.
- **One connection on one dedicated thread** for everything the workers and the CLI
  do. SQLite allows one writer at a time anyway; a single thread serialises our writes
  without lock contention, keeps the event loop free while SQLite waits on the disk or
  on another process's lock (``busy_timeout``: classic-AGI processes and ``outbox work``
  share the file), and avoids a new thread per call (``asyncio.to_thread`` would use
  the shared pool, where prompt rendering also runs).
- **The delivery path inline when the file is free.** Enqueue, claim, the outcome
  updates and the opt-in lookups are one short statement each on an index. A second
  connection, used only on the event-loop thread, runs them right there with
  ``busy_timeout = 0`` and no automatic checkpoint: a WAL append of one row takes tens
  of microseconds, less than the two event-loop turns a thread hop costs — and on a
  loop kept busy by workers and calls, one turn is already most of a millisecond
  (``benchmarks/outbox.py``). If the write lock is taken at that instant (another
  process, or our thread mid-statement), the statement goes to the thread, which waits
  for the lock. Checkpoints (the only fsyncs under NORMAL) and the scans of the admin
  commands stay on the thread. With ``synchronous=FULL`` every commit fsyncs, so
  everything goes to the thread.
- **Autocommit, one statement per change** — except enqueues: the rows enqueued in one
  turn of the event loop are one transaction (``sqlite_rows``), each ``enqueue``
  returning once that commit is done. Claiming is a single
  ``UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING …``: SQLite takes the write lock
  before reading, so two processes can never claim the same row.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from agi_callbot.errors import ConfigError
from agi_callbot.outbox import store as shared
from agi_callbot.outbox.model import StoredMessage, from_row
from agi_callbot.outbox.store.sqlite_rows import (
    insert_many,
    insert_values,
    outcomes_of,
    qmark,
    settle,
)

T = TypeVar("T")

_CLAIM = qmark(shared.claim_query())

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    "to" TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    flow TEXT NOT NULL DEFAULT '',
    block TEXT NOT NULL DEFAULT '',
    call_uniqueid TEXT NOT NULL DEFAULT '',
    fallback TEXT NOT NULL DEFAULT '[]',
    reason TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    claimed_until REAL,
    provider_id TEXT,
    delivery TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt_at)
    WHERE status IN ('queued', 'sending');
CREATE INDEX IF NOT EXISTS outbox_updated ON outbox (updated_at);
CREATE INDEX IF NOT EXISTS outbox_provider ON outbox (provider_id);
CREATE TABLE IF NOT EXISTS optins (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL,
    channel TEXT NOT NULL,
    source TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('in', 'out')),
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS optins_number ON optins (number, channel, at);
"""

_SYNC_MODES = ("NORMAL", "FULL")
#: inline statements between two checkpoints asked of the thread (a few MB of WAL)
_CHECKPOINT_EVERY = 1000


class SqliteStore:
    """The outbox table and the opt-in ledger in one SQLite file."""

    def __init__(self, path: str | os.PathLike[str], *, synchronous: str = "NORMAL") -> None:
        self.path = Path(path)
        sync = synchronous.upper()
        if sync not in _SYNC_MODES:
            raise ConfigError(f"SQLite synchronous: expected normal or full, got {synchronous!r}")
        self.synchronous = sync
        self.description = f"sqlite:{self.path}"
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._inline: sqlite3.Connection | None = None
        self._inline_statements = 0
        #: this loop turn's inserts, committed together (see :meth:`insert`)
        self._turn: list[tuple[tuple[Any, ...], str, asyncio.Future[tuple[str, bool]]]] = []
        self._data_version: int | None = None

    async def open(self) -> None:
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="outbox-sqlite")
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._connect)
        except BaseException:
            self._executor.shutdown(wait=True)
            self._executor = None
            raise
        if self.synchronous == "NORMAL":
            inline = sqlite3.connect(self.path, isolation_level=None)
            inline.execute("PRAGMA busy_timeout = 0")
            inline.execute("PRAGMA synchronous = NORMAL")
            inline.execute("PRAGMA wal_autocheckpoint = 0")
            self._inline = inline

    def _connect(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            conn.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise ConfigError(f"cannot open the outbox database {self.path}: {exc}") from None
        self._conn = conn

    async def aclose(self) -> None:
        self._insert_turn()  # this turn's inserts go before the connections
        executor, self._executor = self._executor, None
        if executor is None:
            return
        inline, self._inline = self._inline, None
        if inline is not None:
            inline.close()
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(executor, conn.close)
        executor.shutdown(wait=True)

    def changed(self) -> bool:
        """Did another connection (another process: a classic-AGI call) commit since the
        last look? ``PRAGMA data_version`` reads shared memory, not the disk."""
        if self._inline is None:
            return False
        version = self._inline.execute("PRAGMA data_version").fetchone()[0]
        seen, self._data_version = self._data_version, version
        return seen is not None and version != seen

    def _db(self) -> sqlite3.Connection:
        assert self._conn is not None
        return self._conn

    # ------------------------------------------------------------------ messages

    async def insert(self, row: StoredMessage) -> tuple[str, bool]:
        """Store ``row``; committed when this returns. The inserts of one turn of the event
        loop share one transaction (a busy node enqueues dozens per turn)."""
        values = insert_values(row)
        loop = asyncio.get_running_loop()
        stored: asyncio.Future[tuple[str, bool]] = loop.create_future()
        self._turn.append((values, row.key, stored))
        if len(self._turn) == 1:
            loop.call_soon(self._insert_turn)
        return await stored

    def _insert_turn(self) -> None:
        turn, self._turn = self._turn, []
        rows = [(values, key) for values, key, _ in turn]
        if not turn:
            return
        try:
            done, outcomes = self._inline_run(insert_many, rows)
        except Exception as exc:
            done, outcomes = True, [exc] * len(turn)
        if done:
            settle(turn, outcomes)
        elif self._executor is None:
            settle(turn, [RuntimeError(f"outbox store {self.path} is not open")] * len(turn))
        else:  # the file is locked: the thread waits for it
            job = asyncio.get_running_loop().run_in_executor(
                self._executor, outcomes_of, self._db(), rows
            )
            job.add_done_callback(lambda done: settle(turn, done))

    async def claim(self, now: float, lease: float, limit: int) -> list[StoredMessage]:
        until = now + lease
        rows = await self._hot(_all, _CLAIM, (until, until, now, now, limit))
        return sorted((from_row(r) for r in rows), key=lambda r: r.created_at)

    async def mark_sent(self, row: StoredMessage, provider_id: str | None, now: float) -> bool:
        return await self._change(shared.MARK_SENT, (provider_id, now, row.id, row.claimed_until))

    async def mark_retry(self, row: StoredMessage, reason: str, at: float, now: float) -> bool:
        return await self._change(shared.MARK_RETRY, (reason, at, now, row.id, row.claimed_until))

    async def mark_final(self, row: StoredMessage, status: str, reason: str, now: float) -> bool:
        return await self._change(
            shared.MARK_FINAL, (status, reason, now, row.id, row.claimed_until)
        )

    async def release(self, row: StoredMessage, now: float) -> bool:
        return await self._change(shared.RELEASE, (now, now, row.id, row.claimed_until))

    async def get(self, id: str) -> StoredMessage | None:
        rows = await self._thread(_all, qmark(shared.SELECT_BY_ID), (id,))
        return from_row(rows[0]) if rows else None

    async def list(
        self, status: str | None = None, limit: int = 50, call: str | None = None
    ) -> list[StoredMessage]:
        sql, args = shared.list_query(status, call, limit)
        return [from_row(r) for r in await self._thread(_all, qmark(sql), args)]

    async def requeue(self, ids: list[str] | None, now: float) -> list[str]:
        statuses = ", ".join(f"'{s}'" for s in shared.RETRYABLE_STATUSES)
        sql = (
            "UPDATE outbox SET status = 'queued', attempts = 0, reason = '', "
            "next_attempt_at = ?, claimed_until = NULL, updated_at = ? "
            f"WHERE status IN ({statuses})"
        )
        args: tuple[Any, ...] = (now, now)
        if ids is not None:
            if not ids:
                return []
            sql += f" AND id IN ({', '.join('?' * len(ids))})"
            args += tuple(ids)
        return [r[0] for r in await self._thread(_all, sql + " RETURNING id", args)]

    async def purge(self, before: float, statuses: tuple[str, ...]) -> int:
        marks = ", ".join("?" * len(statuses))
        sql = f"DELETE FROM outbox WHERE updated_at < ? AND status IN ({marks})"
        return await self._thread(_count, sql, (before, *statuses))

    async def next_due(self) -> float | None:
        rows = await self._thread(_all, shared.NEXT_DUE, ())
        return rows[0][0]

    async def oldest_waiting(self) -> float | None:
        return (await self._thread(_all, shared.OLDEST_WAITING, ()))[0][0]

    async def counts(self) -> dict[str, int]:
        return dict(await self._thread(_all, shared.COUNTS, ()))

    async def set_delivery(
        self, provider_id: str, state: str, reason: str, now: float
    ) -> StoredMessage | None:
        rows = await self._hot(_all, qmark(shared.SET_DELIVERY), (state, reason, now, provider_id))
        return from_row(rows[0]) if rows else None

    async def take(self, limit: int) -> list[StoredMessage]:
        """The oldest rows, whatever their status (the spool hands them on in order)."""
        sql = f"SELECT {shared.SELECT_COLUMNS} FROM outbox ORDER BY id LIMIT ?"
        return [from_row(r) for r in await self._thread(_all, sql, (limit,))]

    async def delete(self, ids: list[str]) -> int:
        if not ids:
            return 0
        sql = f"DELETE FROM outbox WHERE id IN ({', '.join('?' * len(ids))})"
        return await self._thread(_count, sql, tuple(ids))

    # ------------------------------------------------------------------ opt-in ledger

    async def optin_has(self, number: str, channel: str) -> bool:
        return await self.optin_last(number, channel) == "in"

    async def optin_last(self, number: str, channel: str) -> str | None:
        """The newest ledger action for this number and channel (``in``, ``out``, None)."""
        rows = await self._hot(_all, qmark(shared.OPTIN_HAS), (number, channel))
        return rows[0][0] if rows else None

    async def optin_add(
        self, number: str, channel: str, source: str, action: str, at: float
    ) -> None:
        await self._hot(_count, qmark(shared.OPTIN_ADD), (number, channel, source, action, at))

    async def optin_ledger(
        self, limit: int, seq: int | None = None
    ) -> list[tuple[int, str, str, str, str, float]]:
        if seq is None:
            rows = await self._thread(_all, qmark(shared.OPTIN_LEDGER), (limit,))
        else:
            rows = await self._thread(_all, qmark(shared.OPTIN_ENTRY), (seq,))
        return [tuple(r) for r in rows]

    async def optin_take(self, limit: int) -> list[tuple[int, str, str, str, str, float]]:
        """Ledger entries in order (seq first), for the spool to hand on."""
        sql = "SELECT seq, number, channel, source, action, at FROM optins ORDER BY seq LIMIT ?"
        return [tuple(r) for r in await self._thread(_all, sql, (limit,))]

    async def optin_delete(self, seqs: list[int]) -> None:
        if seqs:
            sql = f"DELETE FROM optins WHERE seq IN ({', '.join('?' * len(seqs))})"
            await self._thread(_count, sql, tuple(seqs))

    # ------------------------------------------------------------------ plumbing

    async def _hot(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a short delivery-path statement inline; on the thread if the file is locked."""
        done, result = self._inline_run(fn, *args)
        return result if done else await self._thread(fn, *args)  # type: ignore[return-value]

    def _inline_run(self, fn: Callable[..., T], *args: Any) -> tuple[bool, T | None]:
        """``(True, fn's result)`` run inline, or ``(False, None)``: the file is locked."""
        if self._inline is None:
            return False, None
        try:
            result = fn(self._inline, *args)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
            return False, None
        count = len(args[0]) if fn is insert_many else 1  # rows written to the WAL
        self._inline_statements += count
        if self._inline_statements % _CHECKPOINT_EVERY < count and self._executor:
            self._executor.submit(self._checkpoint)
        return True, result

    async def _thread(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise RuntimeError(f"outbox store {self.path} is not open")
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, fn, self._db(), *args
        )

    def _checkpoint(self) -> None:
        """Fold the WAL back into the database (the inline connection never does it)."""
        with contextlib.suppress(sqlite3.Error):
            self._db().execute("PRAGMA wal_checkpoint(PASSIVE)")

    async def _change(self, sql: str, args: tuple[Any, ...]) -> bool:
        return await self._hot(_count, qmark(sql), args) == 1


def _all(db: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    return db.execute(sql, args).fetchall()


def _count(db: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> int:
    return db.execute(sql, args).rowcount
