"""The outbox row, its states and the keys that make a re-run action a no-op.

A message moves ``queued → sending → sent``; ``sending`` is a lease (``claimed_until``),
not a lock: a worker killed mid-send leaves the row ``sending`` with a deadline, and once
that deadline passes any worker claims it again. That is what makes delivery
at-least-once; the idempotency key handed to the gateway (and to providers that accept
one) turns the possible second send into the same message, not a new one.
"""

from __future__ import annotations

import json
import operator
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agi_callbot.phone import show_number
from agi_callbot.services import Message

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"  # a provider refused it for good (invalid number, template not approved)
DEAD = "dead"  # every attempt failed with a retryable error
SKIPPED = "skipped"  # a rule says it may not be sent (anonymous caller, no opt-in)
STATUSES = (QUEUED, SENDING, SENT, FAILED, DEAD, SKIPPED)
#: end states after which the message's fallback chain starts
FALLBACK_AFTER = (FAILED, DEAD, SKIPPED)

_FALLBACK_KEY = re.compile(r"^(?P<base>.*)/fallback/(?P<n>\d+)$")


def new_id(now: float | None = None) -> str:
    """A 20-hex-digit id that sorts by creation time and is unique across nodes.

    Made here, not by the database, so the id ``enqueue`` returns survives a message's
    trip through the local spool into PostgreSQL.
    """
    ms = int((time.time() if now is None else now) * 1000)
    return f"{ms:012x}{os.urandom(4).hex()}"


def idempotency_key(call_uniqueid: str, block: str, action: int | str) -> str:
    """The key of one action of one call: a re-run of the same action sends nothing new."""
    return f"{call_uniqueid}/{block}/{action}"


def fallback_key(key: str) -> str:
    """The key of the next message in a fallback chain: ``k`` → ``k/fallback/1`` → ``…/2``."""
    match = _FALLBACK_KEY.match(key)
    if match:
        return f"{match['base']}/fallback/{int(match['n']) + 1}"
    return f"{key}/fallback/1"


@dataclass(frozen=True)
class StoredMessage:
    """One outbox row as the stores return it (times are Unix seconds)."""

    id: str
    key: str
    channel: str
    to: str
    payload: dict[str, Any]
    status: str
    flow: str = ""
    block: str = ""
    call_uniqueid: str = ""
    fallback: tuple[dict[str, Any], ...] = ()
    reason: str = ""
    attempts: int = 0
    next_attempt_at: float = 0.0
    claimed_until: float | None = None
    provider_id: str | None = None
    delivery: str | None = None  # delivered | read | failed, from provider status callbacks
    created_at: float = 0.0
    updated_at: float = 0.0

    def message(self) -> Message:
        return Message(
            channel=self.channel,
            to=self.to,
            payload=dict(self.payload),
            call_uniqueid=self.call_uniqueid,
            flow=self.flow,
            block=self.block,
            fallback=self.fallback,
        )

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in COLUMNS} | {"fallback": list(self.fallback)}

    @property
    def who(self) -> str:
        """The destination as INFO logs may show it (:func:`shown_to`)."""
        return shown_to(self.channel, self.to)


#: the table's columns, in the order the stores select them
COLUMNS = (
    "id",
    "key",
    "channel",
    "to",
    "payload",
    "status",
    "flow",
    "block",
    "call_uniqueid",
    "fallback",
    "reason",
    "attempts",
    "next_attempt_at",
    "claimed_until",
    "provider_id",
    "delivery",
    "created_at",
    "updated_at",
)
_COLUMN_VALUES = operator.attrgetter(*COLUMNS)
_PAYLOAD, _FALLBACK = COLUMNS.index("payload"), COLUMNS.index("fallback")


def column_values(row: StoredMessage, encode: Callable[[Any], Any]) -> tuple[Any, ...]:
    """``row`` in :data:`COLUMNS` order, its payload and fallback (as a list) through
    ``encode`` (a store's JSON type), for an INSERT."""
    values = list(_COLUMN_VALUES(row))
    values[_PAYLOAD] = encode(row.payload)
    values[_FALLBACK] = encode(list(row.fallback))
    return tuple(values)


def from_row(row: tuple[Any, ...]) -> StoredMessage:
    """Build a StoredMessage from a row in :data:`COLUMNS` order (JSON as text or parsed)."""
    values = dict(zip(COLUMNS, row, strict=True))
    for name in ("payload", "fallback"):
        if isinstance(values[name], str):
            values[name] = json.loads(values[name])
    values["fallback"] = tuple(values["fallback"] or ())
    values["payload"] = values["payload"] or {}
    for name in ("flow", "block", "call_uniqueid", "reason"):
        values[name] = values[name] or ""
    return StoredMessage(**values)


def shown_to(channel: str, to: str) -> str:
    """A destination as INFO logs may show it: numbers masked (unless ``log.full_numbers``),
    an email's mailbox hidden, a URL without its query string (tokens live there)."""
    if channel in ("sms", "whatsapp"):
        return show_number(to)
    if channel == "email" and "@" in to:
        return "…@" + to.rsplit("@", 1)[1]
    return to.split("?", 1)[0]


@dataclass(frozen=True)
class NewMessage:
    """What ``enqueue`` hands a store: a message already checked against the rules."""

    key: str
    message: Message
    to: str
    status: str = QUEUED
    reason: str = ""
    id: str = field(default_factory=new_id)

    def row(self, now: float) -> StoredMessage:
        m = self.message
        return StoredMessage(
            id=self.id,
            key=self.key,
            channel=m.channel,
            to=self.to,
            payload=dict(m.payload),
            status=self.status,
            flow=m.flow,
            block=m.block,
            call_uniqueid=m.call_uniqueid,
            fallback=tuple(m.fallback),
            reason=self.reason,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
