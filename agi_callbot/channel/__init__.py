"""One live call as awaitables: ``await channel.stream_file(...)`` and friends.

A :class:`Channel` drives the sans-IO :class:`~agi_callbot.agi.Connection` over a
:class:`Wire` (a socket, stdio, or the in-memory Asterisk) and turns replies into
typed results. The caller hanging up is not an error here: it is raised as
:class:`~agi_callbot.errors.Hangup` so a flow unwinds, and afterwards the commands
Asterisk still answers on a dead channel (variables, VERBOSE, NOOP) keep working
so post-call work can report back to the dialplan. How long each command may take,
and the one timer that enforces it for every call: :mod:`.deadlines`.

``result=-1`` is ambiguous on a real Asterisk: STREAM FILE answers it for a missing
file on a live channel (03) and for a caller who hung up during playback (18), and
the ``HANGUP`` notice that tells them apart is missing with AGISIGHUP=no (21). The
channel settles it with a ``CHANNEL STATUS`` probe, which a dead channel answers
with 511 whatever AGISIGHUP says.
"""

from __future__ import annotations

import asyncio
import logging
from asyncio import current_task
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter
from typing import Protocol

from agi_callbot.agi import commands as cmd
from agi_callbot.agi.commands import Command
from agi_callbot.agi.connection import NEED_DATA, Closed, Connection, HangupNotice
from agi_callbot.agi.env import Environment
from agi_callbot.agi.replies import Reply
from agi_callbot.channel.deadlines import Timeouts, Watchdog
from agi_callbot.errors import (
    CommandError,
    ConnectionClosed,
    DeadChannel,
    Hangup,
    ProtocolError,
    RemoteProtocolError,
)

log = logging.getLogger("agi_callbot.channel")


class Wire(Protocol):
    """Bytes to and from Asterisk (see :mod:`agi_callbot.session`).

    ``read`` returns ``b""`` at end of stream; ``write`` raises
    :class:`~agi_callbot.errors.ConnectionClosed` once the peer is gone."""

    async def read(self) -> bytes: ...

    async def write(self, data: bytes) -> None: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Playback:
    """STREAM FILE / GET OPTION / SAY: ``digit`` pressed (``None``: played to the end).

    ``ok`` is false when Asterisk could not play the file (missing, wrong format)."""

    digit: str | None
    endpos: int
    ok: bool = True


@dataclass(frozen=True)
class Digits:
    """GET DATA: the digits typed (``#`` ends input and is not included)."""

    digits: str
    timed_out: bool
    ok: bool = True


#: called after every command with (command, reply or None, seconds): metrics hook
CommandObserver = Callable[[Command, Reply | None, float], None]


class Channel:
    """The AGI session of one call."""

    def __init__(
        self,
        connection: Connection,
        wire: Wire,
        *,
        timeouts: Timeouts | None = None,
        observer: CommandObserver | None = None,
        watchdog: Watchdog | None = None,
    ) -> None:
        if connection.environment is None:
            raise ProtocolError("the environment block has not been read yet")
        self.connection = connection
        self.env: Environment = connection.environment
        self.wire = wire
        self.timeouts = timeouts or Timeouts()
        self.observer = observer
        self.watchdog = watchdog
        self.commands_sent = 0
        self._closed = False

    @property
    def dead(self) -> bool:
        return self.connection.dead

    # -- the exchange --------------------------------------------------------------

    async def send(self, command: Command, length: float | None = None) -> Reply:
        """Send one command and return its reply; 510/520 raise, 511 raises DeadChannel.

        ``length``: seconds of audio the command plays, when known (its deadline).

        Two coroutines for the whole exchange, this one (deadline, watchdog, reply codes)
        and :meth:`_read_reply` (the one reply loop): every frame of the await chain is
        resumed again when the reply arrives, so each layer is paid twice per command."""
        if self._closed:
            raise ConnectionClosed("the AGI session is closed")
        connection = self.connection
        data = connection.send(command)
        started = perf_counter()
        reply: Reply | None = None
        timeout = self.timeouts.for_command(command, length)
        watchdog = self.watchdog
        try:
            await self.wire.write(data)
            self.commands_sent += 1
            if watchdog is None:
                async with asyncio.timeout(timeout):
                    reply = await self._read_reply()
            else:
                # under the shared Watchdog (one timer for all calls): a dict write
                task = current_task()
                watchdog.arm(self, task, timeout)
                try:
                    reply = await self._read_reply()
                except asyncio.CancelledError:
                    if watchdog.fired(self) and task is not None and task.uncancel() == 0:
                        raise TimeoutError from None
                    raise
                finally:
                    watchdog.disarm(self)
        except TimeoutError:
            raise ProtocolError(f"no reply to {command.verb} within {timeout:.0f} s") from None
        finally:
            if self.observer is not None:
                self.observer(command, reply, perf_counter() - started)
        assert reply is not None
        code = reply.code
        if code == 200:
            return reply
        if code == 511:
            raise DeadChannel(f"{command.verb}: the channel is dead")
        if code in (510, 520):
            raise CommandError(
                f"Asterisk refused {command.verb} ({code})",
                code=code,
                usage=reply.text,
                command=command.line(),
            )
        return reply

    async def _read_reply(self) -> Reply:
        connection = self.connection
        if connection.starved:  # the usual case: wait before asking for events
            connection.receive_data(await self.wire.read())
        while True:
            event = connection.next_event()
            if event is NEED_DATA:
                connection.receive_data(await self.wire.read())
            elif isinstance(event, Reply):
                return event
            elif isinstance(event, HangupNotice):
                log.debug("HANGUP notice")
            elif isinstance(event, Closed):
                raise ConnectionClosed("Asterisk closed the AGI connection")

    async def _live(self, command: Command, length: float | None = None) -> Reply:
        """A command that needs the caller: refused at once on a dead channel."""
        if self.dead:
            raise Hangup(f"{command.verb}: the caller is gone")
        return await self.send(command, length)

    async def _settle(self, what: str) -> None:
        """After an ambiguous ``-1``: raise Hangup if the channel is dead (see module doc)."""
        if self.dead:
            raise Hangup(f"{what}: the caller hung up")
        try:
            await self.send(cmd.ChannelStatus())
        except DeadChannel:
            raise Hangup(f"{what}: the caller hung up") from None

    # -- commands --------------------------------------------------------------------

    async def answer(self) -> None:
        reply = await self._live(cmd.Answer())
        if reply.value != 0:
            await self._settle("ANSWER")
            raise CommandError("ANSWER failed", command="ANSWER")

    async def hangup(self) -> None:
        """Hang up the caller. The channel is dead afterwards (15)."""
        if self.dead:
            return
        await self.send(cmd.HangupChannel())
        self.connection.dead = True

    async def noop(self, text: str = "") -> None:
        await self.send(cmd.Noop(text))

    async def stream_file(
        self, file: str, escape_digits: str = "", offset: int = 0, *, length: float | None = None
    ) -> Playback:
        """Play ``file``; ``length`` (seconds, when known) bounds the wait for the reply."""
        reply = await self._live(cmd.StreamFile(file, escape_digits, offset), length)
        return await self._playback(reply, "STREAM FILE")

    async def get_option(
        self,
        file: str,
        escape_digits: str = "",
        timeout_ms: int = 5000,
        *,
        length: float | None = None,
    ) -> Playback:
        reply = await self._live(cmd.GetOption(file, escape_digits, timeout_ms), length)
        return await self._playback(reply, "GET OPTION")

    async def _playback(self, reply: Reply, what: str) -> Playback:
        endpos = reply.endpos or 0
        if reply.value < 0:
            await self._settle(what)
            return Playback(None, endpos, ok=False)
        return Playback(_dtmf(reply) if reply.value > 0 else None, endpos)

    async def get_data(
        self,
        file: str,
        timeout_ms: int = 5000,
        max_digits: int = 1024,
        *,
        length: float | None = None,
    ) -> Digits:
        reply = await self._live(cmd.GetData(file, timeout_ms, max_digits), length)
        if reply.result == "-1":
            await self._settle("GET DATA")
            return Digits("", timed_out=False, ok=False)
        return Digits(reply.result, timed_out=reply.timed_out)

    async def wait_for_digit(self, timeout_ms: int = -1) -> str | None:
        reply = await self._live(cmd.WaitForDigit(timeout_ms))
        return await self._digit(reply, "WAIT FOR DIGIT")

    async def say_digits(self, digits: str, escape_digits: str = "") -> str | None:
        return await self._digit(
            await self._live(cmd.SayDigits(digits, escape_digits)), "SAY DIGITS"
        )

    async def say_number(
        self, number: int | str, escape_digits: str = "", gender: str = ""
    ) -> str | None:
        reply = await self._live(cmd.SayNumber(str(number), escape_digits, gender))
        return await self._digit(reply, "SAY NUMBER")

    async def say_alpha(self, text: str, escape_digits: str = "") -> str | None:
        return await self._digit(await self._live(cmd.SayAlpha(text, escape_digits)), "SAY ALPHA")

    async def _digit(self, reply: Reply, what: str) -> str | None:
        if reply.value < 0:
            await self._settle(what)
            raise CommandError(f"{what} failed", command=what)
        return _dtmf(reply) if reply.value > 0 else None

    async def exec(self, app: str, *args: str) -> int:
        """Run a dialplan application and return its result.

        ``-1`` can mean the application ended the call's part (Queue after the agent
        hung up, Dial without ``g``: the session goes on, 09, 13) or that the caller
        left (12): the probe raises :class:`Hangup` in the second case only. Channel
        variables such as QUEUESTATUS stay readable after that Hangup.
        """
        reply = await self.send(cmd.Exec(app, ",".join(args)))
        if reply.value == -1:
            await self._settle(f"EXEC {app}")
        return reply.value

    async def set_variable(self, name: str, value: str) -> None:
        await self.send(cmd.SetVariable(name, value))

    async def get_variable(self, name: str) -> str | None:
        reply = await self.send(cmd.GetVariable(name))
        return reply.data if reply.value == 1 else None

    async def get_full_variable(self, expression: str) -> str | None:
        reply = await self.send(cmd.GetFullVariable(expression))
        return reply.data if reply.value == 1 else None

    async def set_music(self, on: bool, music_class: str | None = None) -> None:
        await self._live(cmd.SetMusic(on, music_class or ""))

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.send(cmd.Verbose(message, level))

    async def channel_status(self) -> int:
        return (await self.send(cmd.ChannelStatus())).value

    async def close(self) -> None:
        """End the AGI session without hanging up: the dialplan continues after AGI()."""
        if self._closed:
            return
        self._closed = True
        self.connection.close()
        await self.wire.aclose()


_DTMF = frozenset("0123456789*#ABCD")


def _dtmf(reply: Reply) -> str:
    """The digit whose ASCII code a playback/wait reply carries (``53`` is ``5``)."""
    if reply.value < 128 and chr(reply.value).upper() in _DTMF:
        return chr(reply.value).upper()
    raise RemoteProtocolError(f"not a DTMF digit code: result={reply.result[:20]}")
