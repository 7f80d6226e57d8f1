"""A circuit breaker per text-to-speech provider: an outage costs a few requests, not a storm.

Closed: requests go out; ``failures`` failures in a row (errors that say the provider
is unwell — 5xx, timeouts, refused connections, throttling — not a 400 about one
text) open it. Open: no request goes out, the prompt goes to the next engine of the
chain at once; a refused key or an exhausted quota opens it straight away, for as
long as the provider said (``Retry-After``) when it said. After ``open_for`` it is
half-open: ONE trial request goes out; its success closes the breaker, its failure
opens it again.

The state is in ``callbot_tts_breaker_state{provider}`` and in ``doctor`` (which reads
the running node's metrics).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from agi_callbot import metrics

CLOSED, HALF_OPEN, OPEN = "closed", "half-open", "open"
_GAUGE = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


class CircuitBreaker:
    def __init__(
        self,
        provider: str,
        *,
        failures: int = 3,
        open_for: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.provider = provider
        self.threshold = max(1, failures)
        self.open_for = open_for
        self._clock = clock
        self._state = CLOSED
        self._streak = 0
        self._until = 0.0
        self._trial = False
        #: why it last opened (for ``doctor`` and the log)
        self.reason = ""
        self._publish()

    @property
    def state(self) -> str:
        if self._state == OPEN and self._clock() >= self._until:
            return HALF_OPEN
        return self._state

    def is_open(self) -> bool:
        """No request may go out now (open, or half-open with its trial under way)."""
        state = self.state
        return state == OPEN or (state == HALF_OPEN and self._trial)

    def seconds_left(self) -> float:
        return max(0.0, self._until - self._clock()) if self._state == OPEN else 0.0

    def admit(self) -> bool:
        """Take the right to send one request; ``False``: the breaker is open."""
        state = self.state
        if state == CLOSED:
            return True
        if state == HALF_OPEN and not self._trial:
            self._state, self._trial = HALF_OPEN, True
            self._publish()
            return True
        return False

    def succeeded(self) -> None:
        self._streak = 0
        self._trial = False
        if self._state != CLOSED:
            self._state = CLOSED
            self.reason = ""
            self._publish()

    def released(self) -> None:
        """A request that proved nothing about the provider (a 400 about one text)."""
        self._trial = False
        if self._state == HALF_OPEN:
            self._state = CLOSED
            self._publish()

    def failed(self, reason: str, *, open_for: float | None = None) -> None:
        """Count a failure; ``open_for`` opens at once for that long (auth, quota)."""
        self._streak += 1
        trial, self._trial = self._trial, False
        if open_for is None and not trial and self._streak < self.threshold:
            return
        if self._state != OPEN or trial:
            metrics.tts_breaker_trips_total.labels(self.provider).inc()
        wait = self.open_for if open_for is None else max(open_for, 1.0)
        self._state = OPEN
        self._until = self._clock() + wait
        self.reason = reason
        self._publish()

    def _publish(self) -> None:
        metrics.tts_breaker_state.labels(self.provider).set(_GAUGE[self._state])
