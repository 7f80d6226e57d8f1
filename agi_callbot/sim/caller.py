"""What the caller does in a simulated call: DTMF and hanging up, in virtual time.

Two ways to write it, one model underneath (a queue of caller events with times):

- a **script** for flows and ``simulate``: ``"1,wait:6,4321#,hangup"``. A digit is
  pressed shortly after the channel next listens for DTMF (a prompt with escape
  digits, GET DATA, WAIT FOR DIGIT); digits written together (``4321#``) are typed
  one after another, as a caller keys in a number, each pressed when the channel
  listens for keys (``"4321#"`` and ``"4,3,2,1,#"`` are the same script); ``wait:N``
  keeps silent for N seconds from the next point where the caller is on the line (any
  of those, a prompt, a queue, a Dial), so timeouts elapse; ``hangup`` hangs up at
  that point (between commands: at once). Tokens are placed in time only when the
  channel listens, so a script never depends on prompt lengths.
- **timed events** for transcript replays: ``CallerEvent(at=1.42, dtmf="2")``.

DTMF that arrives while no command listens is lost, as on a real Asterisk (30).
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

#: a press takes effect when the tone ends (AMI DTMFEnd DurationMs=120)
DTMF_DURATION = 0.12
#: how long a scripted caller takes to react once the channel listens
REACTION = 0.3
_DIGITS = re.compile(r"^[0-9*#A-D]+$")
_WAIT = re.compile(r"^wait:(\d+(?:\.\d+)?)$")


@dataclass(frozen=True)
class CallerEvent:
    """``dtmf`` is a digit, or ``None`` for the caller hanging up."""

    at: float
    dtmf: str | None = None

    @property
    def hangup(self) -> bool:
        return self.dtmf is None


class Caller:
    """Hands the in-memory Asterisk the caller's next event, placing script tokens in time."""

    def __init__(self, script: str = "", events: list[CallerEvent] | None = None) -> None:
        self._tokens: deque[str] = deque(parse_script(script))
        self._timed: deque[CallerEvent] = deque(sorted(events or [], key=lambda e: e.at))
        self._silent_until = 0.0
        self.hung_up_at: float | None = None

    def next_event(self, now: float, listening: bool, digits: bool = True) -> CallerEvent | None:
        """The caller's next event, without consuming it.

        ``listening`` says whether the channel has the caller on the line now (a prompt,
        GET DATA, a queue...): only then are script tokens placed in time (a ``wait``
        starts counting from here, a ``hangup`` happens). ``digits`` says whether it
        also listens for DTMF: a scripted digit waits for such a point.
        """
        if self._timed:
            return self._timed[0]
        while listening and self._tokens and self._tokens[0].startswith("wait:"):
            seconds = float(self._tokens.popleft()[5:])
            self._silent_until = max(self._silent_until, now) + seconds
        if not self._tokens:
            return None
        start = max(now, self._silent_until)
        token = self._tokens[0]
        if token == "hangup":
            return CallerEvent(start if listening else now)
        if not (listening and digits):
            return None
        return CallerEvent(start + REACTION, token)

    def copy(self) -> Caller:
        """An independent copy: the in-memory Asterisk rewinds a command with it (33)."""
        twin = Caller()
        twin._tokens = deque(self._tokens)
        twin._timed = deque(self._timed)
        twin._silent_until = self._silent_until
        twin.hung_up_at = self.hung_up_at
        return twin

    def consume(self, event: CallerEvent) -> None:
        if self._timed and self._timed[0] == event:
            self._timed.popleft()
        elif self._tokens:
            self._tokens.popleft()
        if event.hangup:
            self.hung_up_at = event.at

    def drop_before(self, now: float) -> None:
        """Timed DTMF whose tone ended while nobody listened is lost (30); a hangup is not."""
        while self._timed and not self._timed[0].hangup and self._timed[0].at + DTMF_DURATION < now:
            self._timed.popleft()

    @property
    def pending(self) -> list[str]:
        """Script tokens never used: a test can say the flow ended before the caller did."""
        return list(self._tokens)


def parse_script(script: str) -> list[str]:
    """Split and check a caller script, one token per key; raise ``ValueError`` naming
    the bad token."""
    tokens: list[str] = []
    for token in (t.strip() for t in script.replace(" ", ",").split(",")):
        if _DIGITS.match(token):
            tokens.extend(token)  # typed one after another
        elif _WAIT.match(token) or token == "hangup":
            tokens.append(token)
        elif token:
            raise ValueError(
                f"bad caller action {token!r}: use DTMF digits (0-9 * # A-D, one or typed "
                "together: 4321#), wait:N or hangup"
            )
    return tokens
