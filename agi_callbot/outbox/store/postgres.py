"""The shared outbox store for several callbot nodes: PostgreSQL, psycopg 3 async, a pool.

Workers on every node claim rows with ``FOR UPDATE SKIP LOCKED``: each claim locks the
rows it takes and skips rows another node's claim holds, so two nodes never take the
same message and never wait on each other. Every statement runs in autocommit (one
statement, one transaction), claims included.

A local SQLite spool goes in front of it for enqueues PostgreSQL does not take in time:
see :mod:`agi_callbot.outbox.store.spool`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from agi_callbot.log import register_secret
from agi_callbot.outbox import store as shared
from agi_callbot.outbox.model import StoredMessage, column_values, from_row

log = logging.getLogger("agi_callbot.outbox")

_CLAIM = shared.claim_query(" FOR UPDATE SKIP LOCKED")

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id text PRIMARY KEY,
    key text NOT NULL UNIQUE,
    channel text NOT NULL,
    "to" text NOT NULL,
    payload jsonb NOT NULL,
    status text NOT NULL,
    flow text NOT NULL DEFAULT '',
    block text NOT NULL DEFAULT '',
    call_uniqueid text NOT NULL DEFAULT '',
    fallback jsonb NOT NULL DEFAULT '[]',
    reason text NOT NULL DEFAULT '',
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at double precision NOT NULL,
    claimed_until double precision,
    provider_id text,
    delivery text,
    created_at double precision NOT NULL,
    updated_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt_at)
    WHERE status IN ('queued', 'sending');
CREATE INDEX IF NOT EXISTS outbox_status ON outbox (status, updated_at);
CREATE INDEX IF NOT EXISTS outbox_provider ON outbox (provider_id) WHERE provider_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS optins (
    seq bigserial PRIMARY KEY,
    number text NOT NULL,
    channel text NOT NULL,
    source text NOT NULL,
    action text NOT NULL CHECK (action IN ('in', 'out')),
    at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS optins_number ON optins (number, channel, at);
"""
#: the LISTEN/NOTIFY channel every insert notifies
CHANNEL = "callbot_outbox"
#: serialises CREATE TABLE IF NOT EXISTS between nodes starting together
_SCHEMA_LOCK = 0x6F7574626F78

#: what "PostgreSQL did not answer" looks like to us
UNAVAILABLE = (TimeoutError, PoolTimeout, psycopg.OperationalError, OSError)


def _values(row: StoredMessage) -> tuple[Any, ...]:
    return column_values(row, Jsonb)


def redact_url(url: str) -> str:
    """The URL without its password (``user:pw@`` or ``?password=``), for logs and errors."""
    url = re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)
    return re.sub(r"([?&]password=)[^&]*", r"\1***", url)


def url_password(url: str) -> str | None:
    """The password a PostgreSQL URL carries, if any (so the log filter can hide it)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    return unquote(parts.password) if parts.password else query.get("password")


class PostgresStore:
    """The outbox table and the opt-in ledger in PostgreSQL."""

    def __init__(self, url: str, *, max_size: int = 10, connect_timeout: float = 5.0) -> None:
        self.url = url
        self.description = redact_url(url)
        register_secret(url_password(url))  # a driver error quoting the URL stays clean
        self.max_size = max_size
        self.connect_timeout = connect_timeout
        self._pool: AsyncConnectionPool | None = None
        self._schema_ready = False
        self._schema_lock: asyncio.Lock | None = None

    async def open(self) -> None:
        """Create the pool and the tables; raises when PostgreSQL cannot be reached."""
        self.open_pool()
        await self.ensure_schema()

    def open_pool(self) -> None:
        """Start the pool without waiting for a connection (the spool covers the wait)."""
        if self._pool is not None:
            return
        self._schema_lock = asyncio.Lock()
        self._pool = AsyncConnectionPool(
            self.url,
            min_size=1,
            max_size=self.max_size,
            open=False,
            kwargs={"autocommit": True, "connect_timeout": max(1, int(self.connect_timeout))},
            timeout=self.connect_timeout,
            name="outbox",
        )

    async def ensure_schema(self) -> None:
        if self._schema_ready:
            return
        assert self._pool is not None and self._schema_lock is not None
        async with self._schema_lock:
            if self._schema_ready:
                return
            if self._pool.closed:
                await self._pool.open(wait=False)
            async with self._pool.connection() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                await conn.execute(SCHEMA)
            self._schema_ready = True

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None and not pool.closed:
            await pool.close(timeout=2.0)
        self._schema_ready = False

    async def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self._pool is None:
            raise RuntimeError(f"outbox store {self.description} is not open")
        await self.ensure_schema()
        async with self._pool.connection() as conn:
            cur = await conn.execute(sql, args)
            return await cur.fetchall() if cur.description else []

    async def _count(self, sql: str, args: tuple[Any, ...]) -> int:
        if self._pool is None:
            raise RuntimeError(f"outbox store {self.description} is not open")
        await self.ensure_schema()
        async with self._pool.connection() as conn:
            cur = await conn.execute(sql, args)
            return cur.rowcount

    # ------------------------------------------------------------------ messages

    async def insert(self, row: StoredMessage) -> tuple[str, bool]:
        sql = (
            f"WITH inserted AS ({shared.INSERT_ROW} RETURNING id) "
            f"SELECT id, pg_notify('{CHANNEL}', '') FROM inserted"
        )
        inserted = await self._all(sql, _values(row))
        if inserted:
            return inserted[0][0], True
        found = await self._all(shared.SELECT_BY_KEY, (row.key,))
        return found[0][0], False

    async def insert_many(self, rows: list[StoredMessage]) -> None:
        """Insert rows in one transaction; rows whose key exists are left out."""
        if not rows:
            return
        assert self._pool is not None
        await self.ensure_schema()
        async with (
            self._pool.connection() as conn,
            conn.transaction(),
            conn.cursor() as cur,
        ):
            await cur.executemany(shared.INSERT_ROW, [_values(r) for r in rows])
            await cur.execute(f"SELECT pg_notify('{CHANNEL}', '')")

    async def listen(self, wake: Callable[[], None], retry: float = 1.0) -> None:
        """Call ``wake`` whenever any node stores a message (LISTEN/NOTIFY), until cancelled.

        Workers then start on a message enqueued by another node, or by a classic-AGI
        process that runs no workers, at once rather than at their next poll. Polling
        stays: a notification lost while the connection was down costs one poll interval.
        """
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True, connect_timeout=max(1, int(self.connect_timeout))
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    wake()  # anything stored while we were not listening
                    async for _ in conn.notifies():
                        wake()
            except UNAVAILABLE as exc:
                log.debug("outbox: LISTEN connection lost (%s); again in %gs", exc, retry)
            await asyncio.sleep(retry)

    async def claim(self, now: float, lease: float, limit: int) -> list[StoredMessage]:
        until = now + lease
        rows = await self._all(_CLAIM, (until, until, now, now, limit))
        return sorted((from_row(r) for r in rows), key=lambda r: r.created_at)

    async def mark_sent(self, row: StoredMessage, provider_id: str | None, now: float) -> bool:
        return (
            await self._count(shared.MARK_SENT, (provider_id, now, row.id, row.claimed_until)) == 1
        )

    async def mark_retry(self, row: StoredMessage, reason: str, at: float, now: float) -> bool:
        return (
            await self._count(shared.MARK_RETRY, (reason, at, now, row.id, row.claimed_until)) == 1
        )

    async def mark_final(self, row: StoredMessage, status: str, reason: str, now: float) -> bool:
        args = (status, reason, now, row.id, row.claimed_until)
        return await self._count(shared.MARK_FINAL, args) == 1

    async def release(self, row: StoredMessage, now: float) -> bool:
        return await self._count(shared.RELEASE, (now, now, row.id, row.claimed_until)) == 1

    async def get(self, id: str) -> StoredMessage | None:
        rows = await self._all(shared.SELECT_BY_ID, (id,))
        return from_row(rows[0]) if rows else None

    async def list(
        self, status: str | None = None, limit: int = 50, call: str | None = None
    ) -> list[StoredMessage]:
        sql, args = shared.list_query(status, call, limit)
        return [from_row(r) for r in await self._all(sql, args)]

    async def requeue(self, ids: list[str] | None, now: float) -> list[str]:
        sql = (
            "UPDATE outbox SET status = 'queued', attempts = 0, reason = '', "
            "next_attempt_at = %s, claimed_until = NULL, updated_at = %s "
            "WHERE status = ANY(%s)"
        )
        args: tuple[Any, ...] = (now, now, list(shared.RETRYABLE_STATUSES))
        if ids is not None:
            sql += " AND id = ANY(%s)"
            args += (list(ids),)
        return [r[0] for r in await self._all(sql + " RETURNING id", args)]

    async def purge(self, before: float, statuses: tuple[str, ...]) -> int:
        sql = "DELETE FROM outbox WHERE updated_at < %s AND status = ANY(%s)"
        return await self._count(sql, (before, list(statuses)))

    async def next_due(self) -> float | None:
        return (await self._all(shared.NEXT_DUE))[0][0]

    async def oldest_waiting(self) -> float | None:
        return (await self._all(shared.OLDEST_WAITING))[0][0]

    async def counts(self) -> dict[str, int]:
        return {s: int(n) for s, n in await self._all(shared.COUNTS)}

    async def set_delivery(
        self, provider_id: str, state: str, reason: str, now: float
    ) -> StoredMessage | None:
        rows = await self._all(shared.SET_DELIVERY, (state, reason, now, provider_id))
        return from_row(rows[0]) if rows else None

    # ------------------------------------------------------------------ opt-in ledger

    async def optin_has(self, number: str, channel: str) -> bool:
        rows = await self._all(shared.OPTIN_HAS, (number, channel))
        return bool(rows) and rows[0][0] == "in"

    async def optin_add(
        self, number: str, channel: str, source: str, action: str, at: float
    ) -> None:
        await self._count(shared.OPTIN_ADD, (number, channel, source, action, at))

    async def optin_ledger(
        self, limit: int, seq: int | None = None
    ) -> list[tuple[int, str, str, str, str, float]]:
        if seq is None:
            rows = await self._all(shared.OPTIN_LEDGER, (limit,))
        else:
            rows = await self._all(shared.OPTIN_ENTRY, (seq,))
        return [tuple(r) for r in rows]
