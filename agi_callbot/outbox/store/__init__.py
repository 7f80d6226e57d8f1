"""Durable outbox stores: SQLite (one node, the default) and PostgreSQL (several nodes).

Both keep the same table and answer the same :class:`Store` calls; the SQL that does
not depend on the engine lives here once, written with ``%s`` placeholders (SQLite's
``?`` is substituted by its store). Times are Unix seconds from the outbox's clock,
not the database's, so a test clock drives backoff and lease expiry alike.

A claimed row gets ``status='sending'`` and ``next_attempt_at = claimed_until`` (the
lease's end): "due" is then one condition, ``status IN (queued, sending) AND
next_attempt_at <= now``, on one index, and an expired lease is due like a retry.
``claimed_until`` doubles as a fencing token: a worker whose lease expired and was
taken over cannot overwrite the newer claim's outcome.
"""

from __future__ import annotations

from typing import Protocol

from agi_callbot.outbox.model import COLUMNS, StoredMessage

SELECT_COLUMNS = ", ".join(f'"{c}"' if c in ("to", "key") else c for c in COLUMNS)
INSERT_ROW = (
    f"INSERT INTO outbox ({SELECT_COLUMNS}) VALUES ({', '.join(['%s'] * len(COLUMNS))}) "
    "ON CONFLICT (key) DO NOTHING"
)
SELECT_BY_KEY = "SELECT id FROM outbox WHERE key = %s"
SELECT_BY_ID = f"SELECT {SELECT_COLUMNS} FROM outbox WHERE id = %s"
DUE = "status IN ('queued', 'sending') AND next_attempt_at <= %s"
CLAIM_SET = (
    "SET status = 'sending', claimed_until = %s, next_attempt_at = %s, "
    "attempts = attempts + 1, updated_at = %s"
)
FENCE = "WHERE id = %s AND status = 'sending' AND claimed_until = %s"
MARK_SENT = (
    "UPDATE outbox SET status = 'sent', provider_id = %s, reason = '', claimed_until = NULL, "
    f"updated_at = %s {FENCE}"
)
MARK_RETRY = (
    "UPDATE outbox SET status = 'queued', reason = %s, next_attempt_at = %s, "
    f"claimed_until = NULL, updated_at = %s {FENCE}"
)
MARK_FINAL = (
    f"UPDATE outbox SET status = %s, reason = %s, claimed_until = NULL, updated_at = %s {FENCE}"
)
RELEASE = (
    "UPDATE outbox SET status = 'queued', attempts = attempts - 1, next_attempt_at = %s, "
    f"claimed_until = NULL, updated_at = %s {FENCE}"
)
NEXT_DUE = "SELECT MIN(next_attempt_at) FROM outbox WHERE status IN ('queued', 'sending')"
OLDEST_WAITING = "SELECT MIN(created_at) FROM outbox WHERE status IN ('queued', 'sending')"
COUNTS = "SELECT status, COUNT(*) FROM outbox GROUP BY status"
SET_DELIVERY = (
    "UPDATE outbox SET delivery = %s, reason = %s, updated_at = %s WHERE provider_id = %s "
    f"RETURNING {SELECT_COLUMNS}"
)
OPTIN_HAS = (
    "SELECT action FROM optins WHERE number = %s AND channel = %s "
    "ORDER BY at DESC, seq DESC LIMIT 1"
)
OPTIN_LEDGER = (
    "SELECT seq, number, channel, source, action, at FROM optins "
    "ORDER BY at DESC, seq DESC LIMIT %s"
)
OPTIN_ENTRY = "SELECT seq, number, channel, source, action, at FROM optins WHERE seq = %s"
OPTIN_ADD = "INSERT INTO optins (number, channel, source, action, at) VALUES (%s, %s, %s, %s, %s)"


def claim_query(lock: str = "") -> str:
    """The claim: one UPDATE of up to ``%s`` due rows, oldest due first, returning them
    (arguments: until, until, now, now, limit). ``lock`` ends the inner SELECT (PostgreSQL:
    ``FOR UPDATE SKIP LOCKED``; SQLite takes the write lock before reading anyway)."""
    return (
        f"UPDATE outbox {CLAIM_SET} WHERE id IN (SELECT id FROM outbox WHERE {DUE} "
        f"ORDER BY next_attempt_at LIMIT %s{lock}) RETURNING {SELECT_COLUMNS}"
    )


def list_query(status: str | None, call: str | None, limit: int) -> tuple[str, tuple[object, ...]]:
    """The ``list`` SELECT and its arguments (``%s`` placeholders)."""
    conditions = [c for c, v in (("status = %s", status), ("call_uniqueid = %s", call)) if v]
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    args = tuple(v for v in (status, call) if v)
    return f"SELECT {SELECT_COLUMNS} FROM outbox {where} ORDER BY id DESC LIMIT %s", (*args, limit)


#: statuses ``outbox retry`` puts back in the queue, and ``outbox purge`` deletes by default
RETRYABLE_STATUSES = ("failed", "dead")
PURGEABLE_STATUSES = ("sent", "failed", "dead", "skipped")


class Store(Protocol):
    """What the outbox needs from a durable store. Every call is safe from many workers.

    Optional extras the workers use when a store has them: ``drain()`` (the spool hands
    rows on), ``changed() -> bool`` (SQLite: another process wrote), ``listen(wake)``
    (PostgreSQL: LISTEN/NOTIFY), ``insert_many(rows)`` (one transaction).
    """

    description: str

    async def open(self) -> None: ...

    async def aclose(self) -> None: ...

    async def insert(self, row: StoredMessage) -> tuple[str, bool]:
        """Store ``row`` unless its key exists; return (id of the stored row, inserted?)."""
        ...

    async def claim(self, now: float, lease: float, limit: int) -> list[StoredMessage]:
        """Take up to ``limit`` due rows (queued and due, or with an expired lease)."""
        ...

    async def mark_sent(self, row: StoredMessage, provider_id: str | None, now: float) -> bool: ...

    async def mark_retry(self, row: StoredMessage, reason: str, at: float, now: float) -> bool: ...

    async def mark_final(
        self, row: StoredMessage, status: str, reason: str, now: float
    ) -> bool: ...

    async def release(self, row: StoredMessage, now: float) -> bool:
        """Give a lease back unsent (graceful stop): queued again, the attempt not counted."""
        ...

    async def get(self, id: str) -> StoredMessage | None: ...

    async def list(
        self, status: str | None = None, limit: int = 50, call: str | None = None
    ) -> list[StoredMessage]:
        """Newest first; ``call``: only the messages of that call (its uniqueid)."""
        ...

    async def requeue(self, ids: list[str] | None, now: float) -> list[str]:
        """Put failed/dead rows back in the queue (``None``: all of them); return their ids."""
        ...

    async def purge(self, before: float, statuses: tuple[str, ...]) -> int: ...

    async def next_due(self) -> float | None: ...

    async def counts(self) -> dict[str, int]: ...

    async def oldest_waiting(self) -> float | None:
        """Creation time of the oldest message not yet sent (queued or sending)."""
        ...

    async def set_delivery(
        self, provider_id: str, state: str, reason: str, now: float
    ) -> StoredMessage | None:
        """Record a provider's status callback (delivered, read, failed) on the sent row."""
        ...

    async def optin_has(self, number: str, channel: str) -> bool: ...

    async def optin_add(
        self, number: str, channel: str, source: str, action: str, at: float
    ) -> None:
        """Append to the ledger: ``action`` is ``in`` (consent) or ``out`` (revoked)."""
        ...

    async def optin_ledger(
        self, limit: int, seq: int | None = None
    ) -> list[tuple[int, str, str, str, str, float]]:
        """Ledger entries newest first: ``(seq, number, channel, source, action, at)``."""
        ...
