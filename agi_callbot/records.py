"""Call records: one row per call in SQLite (``<data_dir>/calls.sqlite``).

Read back by ``agi-callbot calls``.

The runner writes a record when a call ends, whatever way it ends (completed,
transferred, caller hung up, engine failure). SQLite calls block, so every
statement runs on one dedicated thread that owns the connection: the event loop
serving thousands of calls never waits on the disk, and statements never race each
other on the connection.

A record is a mapping; the columns an admin filters on (uniqueid, flow, caller,
status, started) are real columns, and the whole record is kept as JSON too, so a
new field needs no schema change. Caller numbers are stored in full (the record is
what an operator calls back from); ``agi-callbot calls`` masks them on display
unless ``log.full_numbers`` is set.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from agi_callbot.errors import CallbotError

T = TypeVar("T")

#: fields every record has (missing ones are stored empty); others are kept in the JSON
FIELDS = (
    "uniqueid",
    "flow",
    "version",
    "caller",
    "started",
    "ended",
    "duration",
    "status",
    "result",
    "last_block",
    "path",
    "digits",
    "transfers",
    "messages",
    "error",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uniqueid TEXT NOT NULL,
    flow TEXT NOT NULL,
    caller TEXT NOT NULL,
    status TEXT NOT NULL,
    started REAL NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_started ON calls (started);
CREATE INDEX IF NOT EXISTS calls_uniqueid ON calls (uniqueid);
"""


class RecordError(CallbotError):
    """The call-record store cannot be opened or written."""


class CallRecords:
    """The call-record store. ``await open()`` before use, ``await aclose()`` at shutdown."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._executor: ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None
        self._batch: list[tuple[dict[str, Any], asyncio.Future[None]]] = []

    async def open(self) -> None:
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="call-records")
        try:
            await self._run(self._connect)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise

    async def write(self, record: Mapping[str, Any]) -> None:
        """Store one call; it is committed when this returns.

        Raises :class:`RecordError` when the store is unusable. The calls that end in
        the same turn of the event loop share one hop to the writer thread and one
        commit (a busy node ends dozens of calls per turn); a row that fails is retried
        alone, so it never takes the others with it.
        """
        row = normalize(record)
        if self._executor is None:
            raise RecordError(f"call records {self.path}: not open")
        loop = asyncio.get_running_loop()
        written: asyncio.Future[None] = loop.create_future()
        self._batch.append((row, written))
        if len(self._batch) == 1:
            loop.call_soon(self._flush)
        await written

    def _flush(self) -> None:
        """Hand this turn's records to the writer thread (one transaction)."""
        batch, self._batch = self._batch, []
        if not batch:
            return
        if self._executor is None:
            for _, written in batch:
                if not written.done():
                    written.set_exception(RecordError(f"call records {self.path}: not open"))
            return
        loop = asyncio.get_running_loop()
        job = loop.run_in_executor(self._executor, self._insert_rows, [row for row, _ in batch])
        job.add_done_callback(lambda done: self._settle(batch, done))

    def _settle(self, batch: list[tuple[dict[str, Any], asyncio.Future[None]]], job: Any) -> None:
        problem = job.exception() if not job.cancelled() else RecordError("cancelled")
        outcomes = [problem] * len(batch) if problem is not None else job.result()
        for (_, written), outcome in zip(batch, outcomes, strict=True):
            if written.done():
                continue  # the caller gave up waiting; the row is written all the same
            if outcome is None:
                written.set_result(None)
            elif isinstance(outcome, RecordError):
                written.set_exception(outcome)
            else:
                written.set_exception(RecordError(f"call records {self.path}: {outcome}"))

    async def last(
        self, n: int = 20, *, flow: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """The ``n`` most recent calls, newest first, optionally of one flow / one status."""
        if n < 1:
            return []
        return await self._run(self._select, n, flow, status)

    async def aclose(self) -> None:
        if self._executor is None:
            return
        self._flush()  # records of calls that ended this turn go before the connection
        try:
            await self._run(self._disconnect)
        finally:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise RecordError(f"call records {self.path}: not open")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, *args)
        except sqlite3.Error as exc:
            raise RecordError(f"call records {self.path}: {exc}") from exc

    def _connect(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RecordError(f"call records {self.path}: {exc.strerror}") from exc
        db = sqlite3.connect(self.path, check_same_thread=False, timeout=5.0)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        db.commit()
        self._db = db

    def _disconnect(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _insert_rows(self, rows: list[dict[str, Any]]) -> list[Exception | None]:
        """Insert ``rows`` in one transaction; on a failure, each alone: its own outcome."""
        db = self._db
        if db is None:
            raise RecordError(f"call records {self.path}: not open")
        try:
            with db:
                for row in rows:
                    self._insert(row)
            return [None] * len(rows)
        except (sqlite3.Error, ValueError, TypeError) as exc:
            if len(rows) == 1:
                return [exc]
        outcomes: list[Exception | None] = []
        for row in rows:
            try:
                with db:
                    self._insert(row)
                outcomes.append(None)
            except (sqlite3.Error, ValueError, TypeError) as exc:
                outcomes.append(exc)
        return outcomes

    def _insert(self, row: dict[str, Any]) -> None:
        """One INSERT; the caller (:meth:`_insert_rows`) holds the transaction."""
        assert self._db is not None
        self._db.execute(
            "INSERT INTO calls (uniqueid, flow, caller, status, started, record)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                row["uniqueid"],
                row["flow"],
                row["caller"],
                row["status"],
                row["started"],
                json.dumps(row, ensure_ascii=False, default=str),
            ),
        )

    def _select(self, n: int, flow: str | None, status: str | None) -> list[dict[str, Any]]:
        assert self._db is not None
        rows = self._db.execute(
            "SELECT record FROM calls WHERE (? IS NULL OR flow = ?) AND (? IS NULL OR status = ?)"
            " ORDER BY started DESC, id DESC LIMIT ?",
            (flow, flow, status, status, n),
        ).fetchall()
        return [json.loads(r[0]) for r in rows]


def normalize(record: Mapping[str, Any]) -> dict[str, Any]:
    """Fill the standard fields so every stored record has the same shape."""
    row: dict[str, Any] = dict(record)
    lists = {"path", "digits", "transfers", "messages"}
    for name in FIELDS:
        if row.get(name) is None:
            row[name] = [] if name in lists else ""
    for name in lists:
        if not isinstance(row[name], list | tuple):
            raise RecordError(f"call record field {name!r} must be a list, got {row[name]!r}")
        row[name] = list(row[name])
    for name in ("uniqueid", "flow", "caller", "status"):
        row[name] = str(row[name])
    now = time.time()
    row["started"] = float(row["started"] or now)
    row["ended"] = float(row["ended"] or row["started"])
    if row["duration"] == "":
        row["duration"] = round(row["ended"] - row["started"], 3)
    return row
