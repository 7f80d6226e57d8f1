"""A local SQLite spool in front of the shared PostgreSQL outbox.

When PostgreSQL does not answer within ``outbox.enqueue_timeout`` (down, failing over,
a saturated pool), the message goes to ``<data_dir>/outbox-spool.sqlite`` and the
caller goes on; the workers hand spooled rows (and opt-in ledger entries) on to
PostgreSQL once it answers. Rows keep their id on the way, and the unique key collapses
a message that reached both stores (a statement that timed out on our side but
committed).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from agi_callbot.outbox.model import StoredMessage
from agi_callbot.outbox.store.postgres import UNAVAILABLE, PostgresStore
from agi_callbot.outbox.store.sqlite import SqliteStore

log = logging.getLogger("agi_callbot.outbox")


class SpooledStore:
    """PostgreSQL, with a local SQLite spool for writes it does not take in time.

    Everything but ``insert`` and ``optin_add`` goes to PostgreSQL: claiming from a
    local file would let this node send messages other nodes cannot see.
    """

    #: after PostgreSQL missed a deadline, enqueues go straight to the spool for this long
    #: (a caller should not wait ``enqueue_timeout`` on every message of an outage); the
    #: drain task keeps asking PostgreSQL meanwhile
    BACKOFF = 5.0

    def __init__(self, primary: PostgresStore, spool: SqliteStore, *, timeout: float) -> None:
        self.primary = primary
        self.spool = spool
        self.timeout = timeout
        self.description = f"{primary.description} (spool: {spool.path})"
        self._down_until = 0.0

    def _primary_down(self) -> bool:
        return time.monotonic() < self._down_until

    def _missed(self, what: str, exc: BaseException) -> None:
        if not self._primary_down():
            log.warning(
                "outbox: PostgreSQL did not take %s within %.2fs (%s): spooling to %s",
                what,
                self.timeout,
                exc or type(exc).__name__,
                self.spool.path,
            )
        self._down_until = time.monotonic() + self.BACKOFF

    async def open(self) -> None:
        await self.spool.open()
        self.primary.open_pool()
        try:
            async with asyncio.timeout(self.primary.connect_timeout):
                await self.primary.ensure_schema()
        except UNAVAILABLE as exc:
            log.warning(
                "outbox: PostgreSQL (%s) is not answering (%s); messages are spooled to %s",
                self.primary.description,
                exc or type(exc).__name__,
                self.spool.path,
            )

    async def aclose(self) -> None:
        await self.primary.aclose()
        await self.spool.aclose()

    async def insert(self, row: StoredMessage) -> tuple[str, bool]:
        if not self._primary_down():
            try:
                async with asyncio.timeout(self.timeout):
                    return await self.primary.insert(row)
            except UNAVAILABLE as exc:
                self._missed(f"message {row.id}", exc)
        return await self.spool.insert(row)

    async def optin_add(
        self, number: str, channel: str, source: str, action: str, at: float
    ) -> None:
        if not self._primary_down():
            try:
                async with asyncio.timeout(self.timeout):
                    await self.primary.optin_add(number, channel, source, action, at)
                return
            except UNAVAILABLE as exc:
                self._missed("an opt-in entry", exc)
        await self.spool.optin_add(number, channel, source, action, at)

    async def optin_has(self, number: str, channel: str) -> bool:
        """The spool's newest entry for this number wins (it is newer than what PostgreSQL has)."""
        pending = await self.spool.optin_last(number, channel)
        if pending is not None:
            return pending == "in"
        if self._primary_down():
            raise TimeoutError("PostgreSQL is not answering")
        return await self.primary.optin_has(number, channel)

    async def drain(self, batch: int = 500) -> int:
        """Hand spooled ledger entries and messages on to PostgreSQL; return how many moved.

        Deleted from the spool only after PostgreSQL committed them, so a crash in
        between hands them on again: the unique key makes that a no-op for messages,
        and a repeated ledger entry does not change what the ledger says.
        """
        if self._primary_down():
            async with asyncio.timeout(self.timeout):
                await self.primary.next_due()  # answers again: enqueues may use it
            self._down_until = 0.0
        events = await self.spool.optin_take(batch)
        for _seq, number, channel, source, action, at in events:
            await self.primary.optin_add(number, channel, source, action, at)
        await self.spool.optin_delete([e[0] for e in events])
        rows = await self.spool.take(batch)
        await self.primary.insert_many(rows)
        await self.spool.delete([r.id for r in rows])
        if rows or events:
            log.info("outbox: %d spooled messages handed on to PostgreSQL", len(rows))
        return len(rows) + len(events)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.primary, name)
