"""The AGI conversation as a state machine: bytes in, events out, no I/O.

States (one table, :data:`_SENDABLE` and :meth:`Connection.next_event`)::

    ENV ──env block──▶ IDLE ──send()──▶ AWAITING ──reply──▶ IDLE
     │                  │                  │
     └──────────────────┴──── EOF ─────────┴──▶ CLOSED

``dead`` is orthogonal: it turns true on an unsolicited ``HANGUP`` line (after the
reply to the interrupted command, or while idle: 18-20; twice then EOF with
AGIEXITONHANGUP: 22; never with AGISIGHUP=no: 21) or a 511 reply. Commands are still
sent on a dead channel: Asterisk answers the variable commands, VERBOSE and NOOP,
and 511 to the rest (15).

One command in flight, always: a command written while STREAM FILE or GET DATA
runs interrupts it and the interrupted one never gets a reply (33), so ``send()``
refuses a second command until the first one's reply has been read.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from agi_callbot.agi.commands import Command
from agi_callbot.agi.env import Environment, parse_environment
from agi_callbot.agi.replies import (
    USAGE_END,
    Reply,
    known_success,
    opens_data,
    parse_single,
    parse_success,
    parse_success_line,
    usage_reply,
)
from agi_callbot.errors import LocalProtocolError, RemoteProtocolError


class State(Enum):
    ENV = "reading environment"
    IDLE = "idle"
    AWAITING = "awaiting reply"
    CLOSED = "closed"


@dataclass(frozen=True)
class HangupNotice:
    """Asterisk's unsolicited ``HANGUP`` line: the caller is gone."""


@dataclass(frozen=True)
class Closed:
    """The other side closed the connection (EOF)."""


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()
Event = Environment | Reply | HangupNotice | Closed | _NeedData

#: the one state a command may be sent in (compared by identity: an Enum's hash is a
#: Python call, and this check runs for every command)
_SENDABLE: Final = State.IDLE
_HANGUP_LINE = b"HANGUP"


@dataclass(frozen=True)
class Limits:
    """Caps on what the other side may make us hold in memory."""

    env_lines: int = 128
    env_bytes: int = 64 * 1024
    line_bytes: int = 64 * 1024
    reply_lines: int = 64
    usage_lines: int = 1000


_DEFAULT_LIMITS: Final = Limits()


class Connection:
    """One AGI session. Feed bytes with :meth:`receive_data`, read :meth:`next_event`."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or _DEFAULT_LIMITS
        self.state = State.ENV
        self.dead = False
        self.environment: Environment | None = None
        self.pending: Command | None = None
        self._buffer = bytearray()
        self._scan = 0
        self._eof = False
        self._env_lines: list[bytes] = []
        self._env_size = 0
        self._partial: list[bytes] | None = None
        self._usage: list[bytes] | None = None

    # -- input ---------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Add received bytes; ``b""`` means the other side closed (EOF)."""
        if self._eof:
            if data:
                raise RemoteProtocolError("data after end of stream")
            return
        if data:
            self._buffer += data
        else:
            self._eof = True

    def next_event(self) -> Event:
        """The next complete event, or :data:`NEED_DATA` until more bytes arrive."""
        while True:
            if self.state is State.CLOSED:
                return Closed()
            if self.state is State.ENV and not self._env_lines:
                whole = self._whole_env_block()
                if whole is not None:
                    return whole
            line = self._next_line()
            if line is None:
                if not self._eof:
                    return NEED_DATA
                self.state = State.CLOSED
                self.pending = None
                return Closed()
            event = self._env_line(line) if self.state is State.ENV else self._session(line)
            if event is not None:
                return event

    @property
    def starved(self) -> bool:
        """Nothing buffered and no end of stream: :meth:`next_event` would say NEED_DATA
        (a command was just sent: its reply cannot be there yet)."""
        return not self._buffer and not self._eof and self.state is not State.CLOSED

    def _next_line(self) -> bytes | None:
        buffer = self._buffer
        end = buffer.find(b"\n", self._scan)
        if end < 0:
            self._scan = len(buffer)
            if self._scan > self.limits.line_bytes:
                raise RemoteProtocolError(f"line longer than {self.limits.line_bytes} bytes")
            return None
        line = bytes(buffer[:end])
        del buffer[: end + 1]
        self._scan = 0
        if end > self.limits.line_bytes:  # the line's length
            raise RemoteProtocolError(f"line longer than {self.limits.line_bytes} bytes")
        return line

    def _whole_env_block(self) -> Environment | None:
        """Fast path: the whole block is buffered (the usual case, one segment from
        Asterisk): split it once instead of line by line, same checks, same errors."""
        end = self._buffer.find(b"\n\n")
        if end <= 0 or end > self.limits.env_bytes:
            return None
        lines = bytes(self._buffer[:end]).split(b"\n")
        if len(lines) > self.limits.env_lines:
            return None  # the line-by-line path raises with the right message
        for line in lines:
            if not line or len(line) > self.limits.line_bytes:
                return None
        del self._buffer[: end + 2]
        self._scan = 0
        self.environment = parse_environment(lines)
        self.state = State.IDLE
        return self.environment

    def _env_line(self, line: bytes) -> Event | None:
        if line:
            self._env_lines.append(line)
            self._env_size += len(line) + 1
            if len(self._env_lines) > self.limits.env_lines:
                raise RemoteProtocolError(f"environment block over {self.limits.env_lines} lines")
            if self._env_size > self.limits.env_bytes:
                raise RemoteProtocolError(f"environment block over {self.limits.env_bytes} bytes")
            return None
        if not self._env_lines:
            raise RemoteProtocolError("empty environment block")
        self.environment = parse_environment(self._env_lines)
        self._env_lines = []
        self.state = State.IDLE
        return self.environment

    def _session(self, line: bytes) -> Event | None:
        if self._usage is not None:
            return self._usage_line(line)
        if self._partial is not None:
            return self._continued(line)
        if line == _HANGUP_LINE:
            self.dead = True
            return HangupNotice()
        if self.state is not State.AWAITING:
            raise RemoteProtocolError(f"unexpected line while no command is pending: {line[:80]!r}")
        if line.startswith(b"200 "):
            reply = known_success(line)
            if reply is not None:
                return self._done(reply)
            if opens_data(line):
                self._partial = [line]
                return None
            reply = parse_success_line(line)
            if reply is None:
                raise RemoteProtocolError(f"malformed 200 reply: {line[:80]!r}")
            return self._done(reply)
        if line.startswith(b"520-"):
            self._usage = []
            return None
        return self._done(parse_single(line))

    def _continued(self, line: bytes) -> Event | None:
        assert self._partial is not None
        self._partial.append(line)
        joined = b"\n".join(self._partial)
        if opens_data(joined):
            if len(self._partial) > self.limits.reply_lines:
                raise RemoteProtocolError(f"reply longer than {self.limits.reply_lines} lines")
            return None
        self._partial = None
        reply = parse_success(joined)
        if reply is None:
            raise RemoteProtocolError(f"malformed multi-line reply: {joined[:80]!r}")
        return self._done(reply)

    def _usage_line(self, line: bytes) -> Event | None:
        assert self._usage is not None
        if line == USAGE_END:
            reply = usage_reply(self._usage)
            self._usage = None
            return self._done(reply)
        self._usage.append(line)
        if len(self._usage) > self.limits.usage_lines:
            raise RemoteProtocolError(f"520 usage text over {self.limits.usage_lines} lines")
        return None

    def _done(self, reply: Reply) -> Reply:
        if reply.code == 511:
            self.dead = True
        self.state = State.IDLE
        self.pending = None
        return reply

    # -- output --------------------------------------------------------------------

    def send(self, command: Command) -> bytes:
        """The bytes for ``command``; the connection then awaits its reply."""
        if self.state is not _SENDABLE:
            what = (
                f"{self.pending} is still awaiting its reply" if self.pending else self.state.value
            )
            raise LocalProtocolError(f"cannot send {command.verb or 'a command'}: {what}")
        data = command.to_bytes()
        self.state = State.AWAITING
        self.pending = command
        return data

    def close(self) -> None:
        """We are done: nothing more is sent or expected."""
        self.state = State.CLOSED
        self.pending = None
