"""The outbox service: a flow's messages are stored durably and delivered later by workers.

``await outbox.enqueue(message, key)`` returns as soon as the message is on disk (well
under a millisecond on SQLite), so a caller never waits on a gateway. Rules are applied
there, once, and a message that may not be sent is *stored* as ``skipped`` with its
reason rather than refused, so ``outbox list`` shows why nothing went out:

- SMS and WhatsApp numbers are normalised to E.164 (``agi_callbot.phone``) with the
  message's ``region`` or the default region; a withheld caller id (a placeholder, or the
  empty ``${caller}`` a flow gets for one) is ``anonymous caller``, other bad numbers get
  the reason ``numbers.why_not`` gives.
- WhatsApp needs the number's opt-in in the ledger (``no opt-in``). Workers check it again
  right before sending, so a consent revoked meanwhile is honoured, and so is a ledger
  that did not answer in time at enqueue (the message is queued, the worker decides).
- Email addresses and webhook URLs are not phone numbers and are stored as given.

A message whose end is ``failed``, ``dead`` or ``skipped`` starts its fallback chain: the
next entry (``{channel: sms, to: …, text: …}`` or ``{sms: {to: …, text: …}}``) becomes a
new message with the key ``<key>/fallback/1`` (then ``/2``…), going through the same
rules; the entries after it travel along as its own fallback. An entry without ``to``
inherits the number when both channels are phone channels (WhatsApp → SMS).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl

from agi_callbot import metrics
from agi_callbot.config import Settings
from agi_callbot.errors import ConfigError
from agi_callbot.outbox.model import (
    FAILED,
    FALLBACK_AFTER,
    QUEUED,
    SKIPPED,
    STATUSES,
    NewMessage,
    StoredMessage,
    fallback_key,
)
from agi_callbot.outbox.optins import OptIns
from agi_callbot.outbox.store import PURGEABLE_STATUSES, Store
from agi_callbot.outbox.store.sqlite import SqliteStore
from agi_callbot.outbox.worker import Workers
from agi_callbot.phone import to_e164, why_not
from agi_callbot.services import Clock, Message, SystemClock, read_fallback_entry

log = logging.getLogger("agi_callbot.outbox")

CHANNELS = ("sms", "whatsapp", "email", "webhook")
PHONE_CHANNELS = ("sms", "whatsapp")


def open_store(settings: Settings) -> Store:
    """The store ``outbox.store`` names: ``sqlite`` (under data_dir) or a PostgreSQL URL."""
    spec = settings.outbox.store.strip()
    if spec == "sqlite" or spec.startswith("sqlite?"):
        options = dict(parse_qsl(spec.partition("?")[2], keep_blank_values=True))
        unknown = sorted(set(options) - {"synchronous"})
        if unknown:
            raise ConfigError(
                f"setting 'outbox.store': unknown SQLite option {unknown[0]!r} "
                "(sqlite?synchronous=normal|full)"
            )
        try:
            return SqliteStore(settings.outbox_db, synchronous=options.get("synchronous", "NORMAL"))
        except ConfigError as exc:
            raise ConfigError(f"setting 'outbox.store': {exc}") from None
    if spec.startswith(("postgresql://", "postgres://")):
        from agi_callbot.outbox.store.postgres import PostgresStore
        from agi_callbot.outbox.store.spool import SpooledStore

        # a node on the same network connects in milliseconds; waiting longer than a few
        # enqueue deadlines only delays the CLI and the claims during an outage
        connect_timeout = max(1.0, 4 * settings.outbox.enqueue_timeout)
        return SpooledStore(
            PostgresStore(spec, connect_timeout=connect_timeout),
            SqliteStore(settings.data_dir / "outbox-spool.sqlite"),
            timeout=settings.outbox.enqueue_timeout,
        )
    raise ConfigError(
        f"setting 'outbox.store': expected sqlite (or sqlite?synchronous=full) "
        f"or a postgresql:// URL, got {spec!r}"
    )


#: seconds a lease outlasts the send deadline
LEASE_MARGIN = 5.0


class Outbox:
    """The facade flows, the server and the CLI use; see the module docstring for the rules."""

    def __init__(
        self,
        store: Store,
        gateways: Mapping[str, Any],
        *,
        region: str = "ES",
        clock: Clock | None = None,
        workers: int = 4,
        max_attempts: int = 8,
        backoff_base: float = 2.0,
        backoff_max: float = 600.0,
        send_timeout: float = 15.0,
        lease: float | None = None,
        optin_timeout: float = 0.5,
        poll_interval: float = 1.0,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if max_attempts < 1:
            raise ConfigError(
                f"setting 'outbox.max_attempts': must be at least 1, got {max_attempts}"
            )
        self.store = store
        self.gateways = gateways
        self.region = region
        self.clock = clock or SystemClock()
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.send_timeout = send_timeout
        #: the send deadline plus a margin: a send is cancelled at its deadline, so a lease
        #: that long cannot expire while its send still runs; the margin covers recording
        #: the outcome and small clock differences between nodes sharing a PostgreSQL
        #: outbox. It is also how long a message waits after its worker died mid-send
        #: before another one repeats it (with the same idempotency key).
        self.lease = lease if lease is not None else send_timeout + LEASE_MARGIN
        self.optin_timeout = optin_timeout
        self.optins = OptIns(store, self.clock, region)
        self.workers = Workers(
            self, gateways, count=workers, poll_interval=poll_interval, rand=rand
        )
        self._opened = False
        self._remove_collector: Callable[[], None] | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, gateways: Mapping[str, Any], *, clock: Clock | None = None
    ) -> Outbox:
        conf = settings.outbox
        return cls(
            open_store(settings),
            gateways,
            region=settings.defaults.region,
            clock=clock,
            workers=conf.workers,
            max_attempts=conf.max_attempts,
            backoff_base=conf.backoff_base,
            backoff_max=conf.backoff_max,
            send_timeout=conf.send_timeout,
            optin_timeout=conf.enqueue_timeout,
        )

    # ------------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        if not self._opened:
            await self.store.open()
            self._opened = True

    async def start_workers(self) -> None:
        await self.open()
        self.workers.start()
        if self._remove_collector is None:
            self._remove_collector = metrics.add_collector(self.collect_metrics)

    async def start(self) -> None:
        await self.start_workers()

    async def aclose(self, grace: float | None = None) -> None:
        """Stop the workers (sends in flight get ``grace`` seconds, then give their lease back)."""
        if self._remove_collector is not None:
            self._remove_collector()
            self._remove_collector = None
        await self.workers.stop(self.send_timeout if grace is None else grace)
        if self._opened:
            self._opened = False
            await self.store.aclose()

    async def __aenter__(self) -> Outbox:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ messages

    async def enqueue(self, message: Message, key: str) -> str:
        """Store ``message`` durably and return its id; the same ``key`` again: the same id."""
        if not key:
            raise ValueError("an outbox message needs an idempotency key")
        to, status, reason = await self._check(message)
        new = NewMessage(key=key, message=message, to=to, status=status, reason=reason)
        row = new.row(self.clock.now())
        if status != QUEUED:
            # the next channel first: if we die between the two, the re-run of this action
            # finds its fallback stored already (same key), instead of never storing it
            await self.follow_fallback(row, status, reason)
        try:
            id, inserted = await self.store.insert(row)
        except (TypeError, ValueError) as exc:  # from the JSON encoder: a flow bug, said clearly
            raise ValueError(
                f"{message.channel} message {key!r} cannot be stored: "
                f"its payload or fallback is not JSON ({exc})"
            ) from None
        if not inserted:
            return id
        if status == QUEUED:
            self.workers.wake()
            log.info("outbox: %s %s to %s queued (key %s)", message.channel, id, row.who, key)
        else:
            log.info("outbox: %s %s to %s %s: %s", message.channel, id, row.who, status, reason)
        return id

    async def _check(self, message: Message) -> tuple[str, str, str]:
        """(destination as stored, status, reason) under the rules of the module docstring."""
        channel = message.channel
        if channel not in CHANNELS:
            return message.to, FAILED, f"unknown channel {channel!r}"
        if channel not in PHONE_CHANNELS:
            if not str(message.to or "").strip() and channel == "email":
                return "", SKIPPED, "no address"
            return str(message.to or ""), QUEUED, ""
        raw = str(message.to or "")
        if not raw.strip():
            return "", SKIPPED, "anonymous caller"
        region = str(message.payload.get("region") or self.region)
        e164 = to_e164(raw, region)
        if e164 is None:
            return raw, SKIPPED, why_not(raw, region) or "not a valid phone number"
        if channel == "whatsapp":
            try:
                async with asyncio.timeout(self.optin_timeout):
                    consented = await self.store.optin_has(e164, "whatsapp")
            except Exception as exc:  # the ledger is unreachable: do not lose the message
                log.warning(
                    "opt-in ledger did not answer (%s): queued, the worker checks it",
                    exc or type(exc).__name__,
                )
                consented = True
            if not consented:
                return e164, SKIPPED, "no opt-in"
        return e164, QUEUED, ""

    async def follow_fallback(self, row: StoredMessage, status: str, reason: str) -> str | None:
        """Enqueue the next channel of ``row``'s fallback chain; return its id (None: no chain)."""
        if status not in FALLBACK_AFTER or not row.fallback:
            return None
        entry, rest = row.fallback[0], tuple(row.fallback[1:])
        try:
            channel, spec = read_fallback_entry(entry)
            if channel not in CHANNELS:
                raise ValueError(f"unknown channel {channel!r}")
        except ValueError as exc:
            log.warning("outbox: %s: fallback not followed: %s", row.id, exc)
            return None
        payload = {k: v for k, v in spec.items() if k not in ("to", "fallback")}
        to = str(spec.get("to") or "")
        if not to and (channel == row.channel or {channel, row.channel} <= set(PHONE_CHANNELS)):
            to = row.to  # WhatsApp → SMS goes to the same number; an email needs its own
        # the same call, flow and block; the next channel, its destination and the rest
        nxt = replace(row.message(), channel=channel, to=to, payload=payload, fallback=rest)
        key = fallback_key(row.key)
        log.info(
            "outbox: %s %s %s (%s): falling back to %s",
            row.channel,
            row.id,
            status,
            reason,
            channel,
        )
        return await self.enqueue(nxt, key)

    def wake(self) -> None:
        self.workers.wake()

    async def run_once(self, limit: int = 100) -> int:
        """Deliver what is due now without the worker tasks (tests, ``outbox work --once``)."""
        return await self.workers.run_once(limit)

    # ------------------------------------------------------------------ admin

    async def get(self, id: str) -> StoredMessage | None:
        return await self.store.get(id)

    async def list(
        self, status: str | None = None, limit: int = 50, call: str | None = None
    ) -> list[StoredMessage]:
        return await self.store.list(status, limit, call)

    async def retry(self, ids: list[str] | None) -> list[str]:
        """Queue failed/dead messages again with a fresh attempt count (``None``: all of them)."""
        done = await self.store.requeue(ids, self.clock.now())
        if done:
            self.workers.wake()
        return done

    async def purge(self, older_than: float, statuses: tuple[str, ...] = PURGEABLE_STATUSES) -> int:
        return await self.store.purge(self.clock.now() - older_than, statuses)

    async def counts(self) -> dict[str, int]:
        return await self.store.counts()

    async def ping(self) -> None:
        """Raise unless the store answers (``/readyz``)."""
        await self.store.next_due()

    async def collect_metrics(self) -> None:
        """Scrape-time gauges: messages per status, age of the oldest one still waiting."""
        counts = await self.store.counts()
        for status in STATUSES:
            metrics.outbox_depth.labels(status=status).set(counts.get(status, 0))
        oldest = await self.store.oldest_waiting()
        age = 0.0 if oldest is None else max(0.0, self.clock.now() - oldest)
        metrics.outbox_oldest_age_seconds.set(age)

    async def delivery_status(self, provider_id: str, state: str, code: str | None = None) -> bool:
        """A provider's status callback (delivered, read, failed); ``False`` if no row matches.

        ``failed`` after a provider accepted the message is how WhatsApp reports most
        permanent failures (outside the customer-service window: Meta 131047, Twilio
        63016), so it starts the message's fallback chain like a refusal at send time.
        Providers repeat callbacks: the fallback's key makes a repeat a no-op.
        """
        reason = f"provider reported failure{f' (code {code})' if code else ''}"
        row = await self.store.set_delivery(
            provider_id, state, reason if state == "failed" else "", self.clock.now()
        )
        if row is None:
            return False
        log.info("outbox: %s %s: provider says %s", row.channel, row.id, state)
        if state == "failed":
            await self.follow_fallback(row, FAILED, reason)
        return True
