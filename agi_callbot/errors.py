"""One exception tree for the whole engine.

Callers catch by meaning, not by origin: a flow step catches ``Hangup`` (the
caller left: normal control flow), the server catches ``ProtocolError`` (this
connection is unusable: end it, serve the others), the loader raises
``FlowError`` with a position an admin can jump to, the runner sends a
``FlowRuntimeError`` to the flow's ``on_error`` block::

    CallbotError
    ├── ProtocolError → LocalProtocolError, RemoteProtocolError, SessionNotStarted
    ├── Hangup → DeadChannel (511), ConnectionClosed (the AGI connection is gone)
    ├── CommandError          510 / 520 / an unexpected result
    ├── FlowError             a flow file is invalid (file:line:col)
    ├── FlowRuntimeError → EvalError (→ UnsetVariable), NoValidInput, MissingSubflow,
    │                      SubflowTooDeep, StepLimit
    ├── ConfigError · PromptError · GatewayError · …  (each part's own, below them)
"""

from __future__ import annotations


class CallbotError(Exception):
    """Base of every error agi-callbot raises on purpose."""


class ProtocolError(CallbotError):
    """The AGI conversation cannot go on."""


class LocalProtocolError(ProtocolError):
    """We tried something the protocol forbids (a bad command, a second command in flight)."""


class RemoteProtocolError(ProtocolError):
    """Asterisk (or whoever is on the socket) sent something that is not AGI."""


class Hangup(CallbotError):
    """The caller is gone. Not an error for the flow: it unwinds and post-call work runs."""


class DeadChannel(Hangup):
    """Asterisk answered 511: the command needs a live channel and this one is dead."""


class ConnectionClosed(Hangup):
    """The AGI connection is gone (the peer closed it, or the session ended).

    Every :class:`~agi_callbot.channel.Wire` raises it when it cannot write any more,
    so a flow unwinds the same way whichever transport carried the call."""


class SessionNotStarted(ProtocolError):
    """No whole AGI environment block arrived: timed out, closed early, or not AGI.

    ``malformed`` tells a peer that sent garbage from one that just went quiet."""

    def __init__(self, message: str, *, malformed: bool = False) -> None:
        super().__init__(message)
        self.malformed = malformed


class CommandError(CallbotError):
    """Asterisk refused a command: 510 (unknown), 520 (usage) or an unexpected result."""

    def __init__(self, message: str, *, code: int = 0, usage: str = "", command: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.usage = usage
        self.command = command


class FlowError(CallbotError):
    """A flow file is invalid. Carries the position so the message reads ``file:line:col: …``."""

    def __init__(
        self,
        message: str,
        *,
        file: str = "",
        line: int = 0,
        column: int = 0,
        block: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.block = block

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line, self.column) if p)
        return f"{where}: {self.message}" if where else self.message


class FlowRuntimeError(CallbotError):
    """A running flow cannot go on the way it is written.

    The runner takes the flow's ``on_error`` block once; without one (or failing again)
    the call goes back to the dialplan with ``FAILED``. Anything that is not a
    :class:`CallbotError` escaping a block is a bug in agi-callbot, logged as one."""


class EvalError(FlowRuntimeError):
    """An expression could not be evaluated with these variables (types, unset names)."""


class UnsetVariable(EvalError):
    """A condition or ``${name}`` template read a variable this call has not set."""

    def __init__(self, name: str) -> None:
        super().__init__(f"variable {name!r} is not set")
        self.name = name


class NoValidInput(FlowRuntimeError):
    """The caller gave no valid input and the block has nowhere to go (no ``on_fail``)."""


class MissingSubflow(FlowRuntimeError):
    """The sub-flow was not loaded with the call (the library refused or lost it)."""


class SubflowTooDeep(FlowRuntimeError):
    """Sub-flows nested deeper than the runner allows (a flow calling itself)."""


class StepLimit(FlowRuntimeError):
    """The call ran more blocks than ``max_steps``: a loop without an exit."""


class ConfigError(CallbotError):
    """The settings file or an environment override is invalid."""


class PromptError(CallbotError):
    """A prompt could not be produced after every engine of the fallback chain."""


class GatewayError(CallbotError):
    """A message gateway refused or failed a delivery.

    ``retryable`` tells the outbox whether to try again later (5xx, 429, timeouts)
    or to mark the message failed for good (invalid number, template not approved);
    ``retry_after``: the provider's ``Retry-After`` (seconds), when it gave one.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.code = code
        self.retry_after = retry_after
