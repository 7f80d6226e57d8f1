"""Outbox workers: claim due messages, hand them to the channel's gateway, record the outcome.

Retries use exponential backoff with full jitter (``uniform(0, min(max, base·2^(n-1)))``):
after a provider outage, the messages that piled up spread out over the retry window
instead of hitting the provider again all at once. A worker wakes as soon as a message
is enqueued (an :class:`asyncio.Event`) and otherwise polls, at most every
``poll_interval`` and sooner when the next retry is due earlier.

Every send has a deadline (``send_timeout``) and runs under a lease longer than that
deadline: if this process dies mid-send, the lease expires and another worker (or this
one, restarted) sends the message again with the same idempotency key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from agi_callbot import metrics
from agi_callbot.errors import GatewayError
from agi_callbot.outbox.model import DEAD, FAILED, SKIPPED, StoredMessage

if TYPE_CHECKING:
    from agi_callbot.outbox.service import Outbox

log = logging.getLogger("agi_callbot.outbox")

#: how often an idle dispatcher asks the store whether another process wrote to it
CHANGE_CHECK = 0.1


def backoff_delay(
    attempts: int, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Seconds to wait before attempt ``attempts + 1`` (full jitter; ``rand`` in [0, 1))."""
    exponent = min(max(attempts - 1, 0), 62)
    return rand() * min(cap, base * (2**exponent))


class Workers:
    """Up to ``count`` sends at a time, fed by one dispatcher; plus the spool drain task.

    The dispatcher claims as many due rows as there are free send slots, in one
    statement, and starts a task per row. After a claim that filled every free slot
    (a backlog), it waits until half the slots are free again before the next claim,
    so a busy outbox costs one claim per several messages instead of one each. Rows are
    claimed only when a slot is free, so a lease starts when its send starts.
    """

    def __init__(
        self,
        outbox: Outbox,
        gateways: Mapping[str, Any],
        *,
        count: int,
        poll_interval: float = 1.0,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if count < 1:
            raise ValueError(f"outbox.workers must be at least 1, got {count}")
        self.outbox = outbox
        self.gateways = gateways
        self.count = count
        self.poll_interval = poll_interval
        self.rand = rand
        self._wake = asyncio.Event()
        self._slot_free = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._sending: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._failing: set[str] = set()

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._tasks:
            return
        self._stopping = False
        self._tasks = [asyncio.create_task(self._dispatch(), name="outbox-dispatch")]
        if hasattr(self.outbox.store, "drain"):
            self._tasks.append(asyncio.create_task(self._drain(), name="outbox-spool-drain"))
        listen = getattr(self.outbox.store, "listen", None)
        if listen is not None:
            self._tasks.append(asyncio.create_task(listen(self.wake), name="outbox-listen"))

    async def stop(self, grace: float) -> None:
        """Claim nothing more; let sends in flight finish for up to ``grace`` seconds, then
        cancel them. A cancelled send gives its lease back, so the message is queued again
        at once instead of waiting for the lease to expire."""
        if not self._tasks:
            return
        self._stopping = True
        self._wake.set()
        self._slot_free.set()
        tasks, self._tasks = self._tasks, []
        dispatch, others = tasks[0], tasks[1:]
        for task in others:
            task.cancel()
        # a claim under way completes, and its rows get their send, so none is left
        # leased without a sender
        await asyncio.wait([dispatch], timeout=max(grace, 1.0))
        dispatch.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._sending:
            await asyncio.wait(set(self._sending), timeout=grace)
        sending = set(self._sending)
        for task in sending:
            task.cancel()
        await asyncio.gather(*sending, return_exceptions=True)

    async def run_once(self, limit: int = 100) -> int:
        """Claim and deliver what is due now, one message after the other; return how many."""
        rows = await self.outbox.store.claim(self.outbox.clock.now(), self.outbox.lease, limit)
        for row in rows:
            await self.deliver(row)
        return len(rows)

    async def _dispatch(self) -> None:
        backlog = False
        while not self._stopping:
            try:
                backlog = await self._dispatch_once(backlog)
            except Exception:  # a bug must not end delivery for the life of the process
                log.exception("outbox: dispatcher error; going on after %gs", self.poll_interval)
                await asyncio.sleep(self.poll_interval)

    async def _dispatch_once(self, backlog: bool) -> bool:
        """Claim for the free slots and start the sends; return whether a backlog remains."""
        free = self.count - len(self._sending)
        if free < (max(1, self.count // 2) if backlog else 1):
            self._slot_free.clear()
            await self._slot_free.wait()
            return backlog
        self._wake.clear()
        try:
            rows = await self.outbox.store.claim(self.outbox.clock.now(), self.outbox.lease, free)
        except Exception as exc:  # the store is down: log, wait, try again
            self._trouble("claim", exc)
            await self._sleep(self.poll_interval)
            return False
        self._trouble("claim", None)
        for row in rows:
            task = asyncio.create_task(self._send(row), name=f"outbox-send-{row.id}")
            self._sending.add(task)
            task.add_done_callback(self._sent)
        if not rows:
            await self._sleep(await self._until_due())
        return len(rows) == free

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        self._slot_free.set()

    async def _send(self, row: StoredMessage) -> None:
        try:
            await self.deliver(row)
        except Exception:
            log.exception("outbox: recording the outcome of %s failed", row.id)

    def _trouble(self, what: str, exc: BaseException | None) -> None:
        """Log a store outage once when it starts and once when it ends, not every poll."""
        if exc is not None and what not in self._failing:
            self._failing.add(what)
            log.warning(
                "outbox: %s failed, retrying every %gs: %s",
                what,
                self.poll_interval,
                str(exc) or type(exc).__name__,
            )
        elif exc is None and what in self._failing:
            self._failing.discard(what)
            log.warning("outbox: %s works again", what)

    async def _until_due(self) -> float:
        try:
            due = await self.outbox.store.next_due()
        except Exception:
            return self.poll_interval
        if due is None:
            return self.poll_interval
        return min(self.poll_interval, max(0.0, due - self.outbox.clock.now()))

    async def _sleep(self, seconds: float) -> None:
        """Wait for a wake-up, ``seconds`` at most; with a store that can tell when another
        process wrote to it (SQLite), look every ``CHANGE_CHECK`` seconds too, so messages
        that classic-AGI processes enqueue go out without waiting a whole poll."""
        changed = getattr(self.outbox.store, "changed", None)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not self._stopping and not self._wake.is_set():
            left = deadline - loop.time()
            if left <= 0:
                return
            step = min(left, CHANGE_CHECK) if changed is not None else left
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(step):
                    await self._wake.wait()
            if changed is not None and changed():
                return

    async def _drain(self) -> None:
        store: Any = self.outbox.store
        while not self._stopping:
            try:
                moved = await store.drain()
            except Exception as exc:
                self._trouble("drain", exc)
                moved = 0
            else:
                self._trouble("drain", None)
            if moved:
                self.wake()
            else:
                await asyncio.sleep(self.poll_interval)

    async def deliver(self, row: StoredMessage) -> None:
        """One attempt at ``row`` (claimed by us): sent, retried later, failed, dead or skipped."""
        outbox = self.outbox
        gateway = self.gateways.get(row.channel)
        if gateway is None:
            await self._final(row, FAILED, f"no gateway for channel {row.channel!r}")
            return
        if row.channel == "whatsapp" and not await outbox.store.optin_has(row.to, "whatsapp"):
            await self._final(row, SKIPPED, "no opt-in")
            return
        try:
            async with asyncio.timeout(outbox.send_timeout):
                sent = await gateway.send(row.message(), key=row.key)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(outbox.store.release(row, outbox.clock.now()))
            raise
        except TimeoutError:
            _count_failure(row, "timeout")
            await self._retry(row, f"no answer within {outbox.send_timeout:g}s")
        except GatewayError as exc:
            _count_failure(row, "retryable" if exc.retryable else "permanent")
            if exc.retryable:
                await self._retry(row, _reason(exc))
            else:
                await self._final(row, FAILED, _reason(exc))
        except Exception as exc:
            _count_failure(row, "error")
            log.exception("outbox: gateway %s raised an unexpected error", row.channel)
            await self._retry(row, f"{type(exc).__name__}: {exc}")
        else:
            metrics.outbox_sent_total.labels(channel=row.channel).inc()
            provider_id = getattr(sent, "provider_id", None)
            if await outbox.store.mark_sent(row, provider_id, outbox.clock.now()):
                log.info(
                    "outbox: %s %s to %s sent (attempt %d, provider id %s)",
                    row.channel,
                    row.id,
                    row.who,
                    row.attempts,
                    provider_id,
                )
            else:
                _lost(row)

    async def _retry(self, row: StoredMessage, reason: str) -> None:
        outbox = self.outbox
        now = outbox.clock.now()
        if row.attempts >= outbox.max_attempts:
            await self._final(row, DEAD, f"{reason} (gave up after {row.attempts} attempts)")
            return
        delay = backoff_delay(row.attempts, outbox.backoff_base, outbox.backoff_max, self.rand)
        if await outbox.store.mark_retry(row, reason, now + delay, now):
            log.info(
                "outbox: %s %s to %s: attempt %d failed (%s), next in %.1fs",
                row.channel,
                row.id,
                row.who,
                row.attempts,
                reason,
                delay,
            )
        else:
            _lost(row)

    async def _final(self, row: StoredMessage, status: str, reason: str) -> None:
        """Record an end state; the fallback is stored first, so a crash in between sends
        this message once more (lease expiry) rather than losing the fallback."""
        outbox = self.outbox
        await outbox.follow_fallback(row, status, reason)
        if not await outbox.store.mark_final(row, status, reason, outbox.clock.now()):
            _lost(row)
            return
        log.warning("outbox: %s %s to %s %s: %s", row.channel, row.id, row.who, status, reason)


def _count_failure(row: StoredMessage, kind: str) -> None:
    metrics.outbox_failed_total.labels(channel=row.channel, reason=kind).inc()


def _reason(exc: GatewayError) -> str:
    details = [f"HTTP {exc.status}" if exc.status else "", f"code {exc.code}" if exc.code else ""]
    extra = ", ".join(d for d in details if d)
    return f"{exc} ({extra})" if extra and extra not in str(exc) else str(exc)


def _lost(row: StoredMessage) -> None:
    log.warning(
        "outbox: lease on %s expired before its outcome was recorded; another worker owns it",
        row.id,
    )
