"""What a running flow may use besides its channel: one object, all async, each with a deadline.

The flow runner is handed a :class:`Services`. The server builds it from the
Settings with the real parts (prompt cache, outbox, opt-in ledger, AMI teams,
call records); tests build it on temporary folders with the same real parts.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class PromptResolver(Protocol):
    """What a flow asks of prompts (:class:`agi_callbot.tts.service.PromptService` is the
    real one)."""

    async def resolve(
        self, text: str | None, *, prompt_id: str | None, language: str, voice: dict[str, Any]
    ) -> str:
        """Return what STREAM FILE receives for this prompt.

        An absolute path without extension (delivery ``local``), a URL (``http``),
        or a name under Asterisk's sounds directory such as ``callbot/<hash>``
        (``deployed``). A recording an admin dropped in for ``prompt_id`` wins over
        synthesis. Raises ``PromptError`` when every engine failed.

        A resolver may also offer ``resolve_measured`` (same arguments), returning the
        file and its seconds of audio (or ``None``): a play's reply deadline follows it.
        """
        ...


@dataclass(frozen=True)
class Message:
    """A message a flow asks to send; the outbox stores it and workers deliver it."""

    channel: str  # sms | whatsapp | email | webhook
    to: str
    payload: dict[str, Any]  # channel-specific: text/from, template/language/params, subject/body…
    call_uniqueid: str = ""
    flow: str = ""
    block: str = ""
    fallback: tuple[dict[str, Any], ...] = ()  # next channels to try on a permanent failure


def fallback_entry(channel: str, to: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """One entry of :attr:`Message.fallback` as a flow makes it: ``{channel, to, <payload>}``."""
    return {"channel": channel, "to": to, **payload}


def read_fallback_entry(entry: Any) -> tuple[str, dict[str, Any]]:
    """The channel and fields of a fallback entry: ``{channel: sms, to: …, text: …}`` (as
    :func:`fallback_entry` makes it) or ``{sms: {to: …, text: …}}``; ``ValueError`` if neither."""
    if not isinstance(entry, Mapping):
        raise ValueError(f"expected a mapping, got {entry!r}")
    if "channel" in entry:
        fields = dict(entry)
        return str(fields.pop("channel")), fields
    if len(entry) == 1:
        channel, value = next(iter(entry.items()))
        if not isinstance(value, Mapping):
            raise ValueError(f"{channel}: expected a mapping, got {value!r}")
        return str(channel), dict(value)
    raise ValueError(f"expected one channel, got {sorted(entry)}")


class OutboxService(Protocol):
    async def enqueue(self, message: Message, key: str) -> str:
        """Store durably and return the message id; ``key`` makes a re-run a no-op.

        Never raises for rule violations (anonymous caller, no opt-in): those are
        stored as ``skipped`` with their reason.
        """
        ...


class OptInService(Protocol):
    async def has(self, number: str, channel: str) -> bool: ...

    async def record(self, number: str, channel: str, source: str) -> None: ...


@dataclass(frozen=True)
class Availability:
    """A team's queue as AMI sees it."""

    exists: bool
    members: int
    available: int
    paused: int
    callers: int
    longest_wait_s: float


class TeamService(Protocol):
    async def availability(self, team: str) -> Availability | None:
        """``None`` when AMI is not configured or did not answer in time: transfer unchecked."""
        ...


@dataclass(frozen=True)
class WebhookRequest:
    """A webhook with ``save_as``: the flow waits for its answer during the call.

    ``key`` is the action's idempotency key; ``call``, ``flow`` and ``block`` say where
    it comes from (the receiver sees them as headers, like a webhook message's)."""

    method: str
    url: str
    data: Any
    headers: Mapping[str, str]
    timeout: float
    key: str
    call: str = ""
    flow: str = ""
    block: str = ""


class WebhookService(Protocol):
    async def fetch(self, request: WebhookRequest) -> Any:
        """Call the webhook now and return its JSON answer.

        The webhook gateway's path (settings' headers, signature, idempotency key);
        raises ``GatewayError`` when it fails, answers an error or no JSON in time.
        """
        ...


class CallRecordService(Protocol):
    async def write(self, record: dict[str, Any]) -> None: ...


class Clock(Protocol):
    def now(self) -> float: ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class ActiveCallService(Protocol):
    """The calls in progress, for whoever watches (the console's live list)."""

    def started(self, call: Any) -> None: ...

    def ended(self, call: Any) -> None: ...


@dataclass
class Services:
    prompts: PromptResolver
    outbox: OutboxService
    optins: OptInService
    teams: TeamService
    records: CallRecordService
    clock: Clock
    webhooks: WebhookService
    #: calls in progress (:class:`agi_callbot.active_calls.ActiveCalls`); None: not kept
    active: ActiveCallService | None = None
