"""An in-memory Asterisk: the other end of a FastAGI session, in virtual time.

Flow tests, ``agi-callbot simulate`` and the reliability suite run calls through it,
so it answers every command the way Asterisk 22 does in ``tests/transcripts``, and
``tests/sim/test_replay_memory.py`` replays all of them through it:

- the env block, reply shapes, 510/511/520 and their arity rules, 8191-byte line
  pieces (17), CR kept in arguments (16);
- the ``HANGUP`` notice (after the interrupted command's reply, while idle, none with
  AGISIGHUP=no, twice then EOF with AGIEXITONHANGUP) and dead-channel rules (15, 18-22);
- DTMF during prompts, GET DATA, WAIT FOR DIGIT, GET OPTION and CONTROL STREAM FILE
  (stop, skip, pause, offsets in ms, 16 kHz counted twice), lost between commands (30);
- SAY DIGITS/ALPHA/NUMBER as the stock prompts they play (English and Spanish grammar,
  language folders with fallback: 06, 39);
- EXEC Playback/Wait/Set/Goto/Queue/Dial and the variables they leave (PLAYBACKSTATUS,
  CPLAYBACK*, QUEUESTATUS, DIALSTATUS, ANSWEREDTIME…), queue announcements that outlast
  the timeout (38), hold-music classes (14, 41);
- local prompt files by format and sample rate (34, 36); prompt URLs through the HTTP
  media cache (``urls``: 404s, dead or slow servers, the short-URL bug asterisk#444,
  the format from a known Content-Type before the URL's extension: 34, 35, 40, 42;
  cache headers only change what the HTTP server sees);
- a command written while another runs (33: STREAM FILE, GET DATA, GET OPTION and SAY
  stop without a reply, WAIT FOR DIGIT answers ``1``, EXEC finishes first);
- the AGISTATUS the dialplan finds afterwards (:attr:`MemoryAsterisk.agistatus`).

The world of the call is an :class:`~agi_callbot.sim.setup.AsteriskSetup`; the parts
of this Asterisk are listed in :mod:`agi_callbot.sim`.

Time is virtual: a 10 s prompt "plays" at once and its reply is due 10 s later, so a
whole call runs in microseconds while timeouts still elapse in order. A reader that
waits for a reply (:meth:`take_output`, the Channel) gets it at once; :meth:`advance`
lets the server idle, and a line written before a reply was due meets the command
still running.

NOT MODELLED (the same list, keyed by transcript and line, is ``NOT_MODELLED`` in
tests/sim/test_replay_memory.py; the replay fails when either side changes):

- (25) a FastAGI connection that fails: there is no connection to replay.

Nor, beyond the transcripts: SAY grammars other than English and Spanish, the queue
hold-time announcement (0 s in 38 is not announced), queue members' own channels.

Compared loosely by the replay, being run-dependent or Asterisk's own text: the
``endpos`` of an interrupted playback, 520 usage bodies (we send a one-line body),
durations within 0.15 s, ANSWEREDTIME/DIALEDTIME within a second. Not recorded, so
chosen here: the caller hanging up during CONTROL STREAM FILE answers
``200 result=-1 endpos=<ms>``; EXEC on a dead channel runs Set, Verbose, NoOp and Goto
and answers ``-1`` for other applications.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from agi_callbot.agi.commands import parse_args
from agi_callbot.agi.env import environment_lines
from agi_callbot.channel import Channel, deadlines
from agi_callbot.errors import ConnectionClosed, RemoteProtocolError
from agi_callbot.session import open_channel
from agi_callbot.sim.apps import DialplanApps
from agi_callbot.sim.caller import DTMF_DURATION, Caller, CallerEvent
from agi_callbot.sim.commands import AgiCommands, command_name
from agi_callbot.sim.media import MediaPlayer
from agi_callbot.sim.setup import AsteriskSetup

#: Asterisk reads a command in pieces of this many bytes, newline included (17)
MAX_READ = 8191
#: commands that watch the AGI socket: a new line stops them (33); all but WAIT FOR
#: DIGIT then stay silent
_WATCHING = frozenset(
    {"STREAM FILE", "GET DATA", "GET OPTION", "SAY DIGITS", "SAY ALPHA", "SAY NUMBER"}
    | {"WAIT FOR DIGIT"}
)
_uniqueids = itertools.count(1)


class _Interrupted(Exception):
    """A new command line arrived while this one was still running (33)."""


@dataclass
class _Running:
    """The last command, whose reply may not be due yet."""

    name: str
    end: float
    snapshot: dict[str, Any] | None
    line: str


class MemoryAsterisk(AgiCommands, DialplanApps, MediaPlayer):
    """One call's Asterisk side, in the world ``setup`` describes.

    ``await ast.run(handler)`` runs ``handler(channel)`` on an in-memory wire;
    ``await ast.call(host, port)`` plays the same call to a FastAGI server over a real
    socket. Afterwards :attr:`commands`, :attr:`played`, :attr:`variables`,
    :attr:`moh`, :attr:`apps`, :attr:`hangup_by` and :attr:`agistatus` say what happened.
    """

    def __init__(self, setup: AsteriskSetup | None = None) -> None:
        self.setup = setup = setup or AsteriskSetup()
        self.environment = setup.environment(next(_uniqueids))
        self.caller = setup.caller if isinstance(setup.caller, Caller) else Caller(setup.caller)
        self.variables: dict[str, str] = dict(setup.variables)
        self.database: dict[tuple[str, str], str] = {}
        self.language = setup.language
        self.context = self.environment.context
        self.extension = self.environment.extension
        self.priority = self.environment.priority
        self.musicclass = ""  # CHANNEL(musicclass)
        #: the model's clock: where the last command ended
        self.now = 0.0
        #: the server's clock: when it last wrote or read
        self.world = 0.0
        self.answered = False
        self.answered_at: float | None = None
        self.hung_up = False
        self.hangup_by: str | None = None
        self.commands: list[str] = []
        self.played: list[str] = []
        #: every hold-music class started (AMI MusicOnHoldStart), and the one playing now
        self.moh: list[str] = []
        self.moh_playing: str | None = None
        self.apps: list[tuple[str, str]] = []
        self.eof = False
        #: a prompt failed to open on a live channel: AGISTATUS will say FAILURE (03)
        self.failed = False
        self.last: str | None = None
        self._out = bytearray()
        self._scheduled: list[tuple[float, bytes]] = []
        self._in = bytearray()
        self._notice_due = False
        self._running: _Running | None = None
        self._cut: float | None = None

    # -- the wire --------------------------------------------------------------------

    def env_block(self) -> bytes:
        return b"".join(line + b"\n" for line in environment_lines(self.environment)) + b"\n"

    def receive(self, data: bytes) -> None:
        """Bytes from the server, read like Asterisk does: lines in 8191-byte pieces."""
        self._in += data
        while True:
            end = self._in.find(b"\n", 0, MAX_READ)
            if end >= 0:
                piece = bytes(self._in[:end])
                del self._in[: end + 1]
            elif len(self._in) >= MAX_READ:
                piece = bytes(self._in[:MAX_READ])
                del self._in[:MAX_READ]
            else:
                return
            self._line(piece)

    def take_output(self, limit: int | None = None, *, wait: bool = True) -> bytes:
        """What Asterisk has written. ``wait``: the reader waits for replies not yet due."""
        if wait and self._scheduled:
            self._release(max(due for due, _ in self._scheduled))
        size = len(self._out) if limit is None else min(limit, len(self._out))
        data = bytes(self._out[:size])
        del self._out[:size]
        return data

    def advance(self, seconds: float) -> None:
        """The server idles: a running command may end, DTMF is lost, a hangup noticed (20)."""
        target = self.world + seconds
        running = self._running
        if running is not None and running.end > target:
            self.world = target
            return
        self._release(running.end if running else self.world)
        self._idle_until(target)
        self.world = self.now = max(self.now, target)
        self._release(self.world)

    @property
    def agistatus(self) -> str:
        """What AGI() leaves in AGISTATUS for the dialplan when the session ends: FAILURE
        once a prompt failed to open on a live channel (03, 36, 37, 40, 42; not GET DATA,
        not EXEC Playback), else HANGUP if the channel was hung up, else SUCCESS."""
        if self.failed:
            return "FAILURE"
        return "HANGUP" if self.hung_up else "SUCCESS"

    async def run(self, handler: Callable[[Channel], Awaitable[Any]]) -> Any:
        """Run one call: ``handler`` with the :class:`Channel` the session contract opens
        on the in-memory wire; its result is returned, its exceptions are not caught."""
        channel = await open_channel(
            MemoryWire(self),
            env_timeout=5.0,
            timeouts=deadlines.Timeouts(reply=5.0, media=5.0, exec=5.0),
        )
        try:
            return await handler(channel)
        finally:
            await channel.close()

    async def call(self, host: str, port: int, *, timeout: float = 20.0) -> None:
        """Play this Asterisk's side of one call over a real FastAGI connection.

        Sends the env block, answers every command line, and returns when the server
        ends the session (or, with AGIEXITONHANGUP, when this side closes it). ``timeout``
        bounds each wait for the server, so a stuck server fails a test instead of hanging.
        """
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(self.env_block())
            while data := await asyncio.wait_for(reader.read(65536), timeout):
                self.receive(data)
                if out := self.take_output():
                    writer.write(out)
                    await writer.drain()
                if self.eof:
                    return
        finally:
            writer.close()

    # -- scheduling ------------------------------------------------------------------

    def _emit(self, reply: str) -> None:
        self._scheduled.append((self.now, reply.encode("utf-8") + b"\n"))

    def _flush_notice(self) -> None:
        if not self._notice_due:
            return
        self._notice_due = False
        if self.setup.agisighup:
            self._scheduled.append((self.now, b"HANGUP\n"))
            if self.setup.exit_on_hangup:
                self._scheduled.append((self.now, b"HANGUP\n"))
                self._scheduled.append((self.now, b""))  # end of stream

    def _release(self, until: float) -> None:
        """Hand out what is due by ``until``; the running command ends if it is."""
        keep = []
        for due, data in self._scheduled:
            if due <= until:
                self._out += b"" if self.eof else data  # nothing follows the end of stream
                self.eof = self.eof or data == b""
            else:
                keep.append((due, data))
        self._scheduled = keep
        self.world = max(self.world, until)
        if self._running is not None and self._running.end <= until:
            self._running = None

    def _idle_until(self, until: float) -> None:
        """No command runs from :attr:`now` to ``until``: DTMF is lost, a hangup noticed."""
        event = self.caller.next_event(self.now, listening=False)
        while event is not None and event.at <= until:
            self.caller.consume(event)
            if event.hangup and not self.hung_up:
                self.now = max(self.now, event.at)
                self._hang_up("caller")
                self._flush_notice()
            event = self.caller.next_event(self.now, listening=False)
        self.caller.drop_before(until)

    # -- one command line ------------------------------------------------------------

    def _line(self, raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace")
        self.commands.append(text)
        running = self._running
        if running is None or running.end <= self.world:
            self._release(self.world)
            self._idle_until(self.world)  # a hangup while idle is noticed first (20, 22)
            self._release(self.world)
            self.now = max(self.now, self.world)
        if self.eof:
            return  # AGIEXITONHANGUP closed the socket: nobody reads the line (22)
        if running is not None and running.end > self.world and running.name in _WATCHING:
            self._interrupt(running)
        # anything else still running (EXEC) finishes first: the new line runs after it (33)
        self._running = None
        if self.setup.hangup_at_command == len(self.commands) and not self.hung_up:
            self._hang_up("caller")
            self._flush_notice()
        words = parse_args(text)
        name = command_name(words)
        snapshot = self._snapshot() if name in _WATCHING else None
        self._emit(self.dispatch(words, name))
        self._flush_notice()
        self._running = _Running(name or "", self.now, snapshot, text)

    def _interrupt(self, running: _Running) -> None:
        """Run ``running`` again, stopped by the line arriving at :attr:`world` (33)."""
        assert running.snapshot is not None
        cut = self.world
        self._restore(running.snapshot)
        self._cut = cut
        try:
            self.dispatch(parse_args(running.line), running.name)
        except _Interrupted:
            if running.name == "WAIT FOR DIGIT":
                self._emit("200 result=1")
        else:
            raise AssertionError(f"{running.line} did not reach its interruption at {cut}")
        finally:
            self._cut = None
        self._flush_notice()
        self.now = cut

    #: what a command may change, restored when a new line interrupts it (33)
    _SCALARS = (
        "now", "answered", "answered_at", "failed", "hung_up", "hangup_by", "language",
        "last", "moh_playing", "_notice_due",
    )  # fmt: skip
    _GROWING = ("played", "moh", "apps")

    def _snapshot(self) -> dict[str, Any]:
        state: dict[str, Any] = {name: getattr(self, name) for name in self._SCALARS}
        state.update({name: len(getattr(self, name)) for name in self._GROWING})
        state.update(
            caller=self.caller.copy(),
            variables=dict(self.variables),
            database=dict(self.database),
            _scheduled=list(self._scheduled),
        )
        return state

    def _restore(self, snapshot: dict[str, Any]) -> None:
        for name, value in snapshot.items():
            if name in self._GROWING:
                del getattr(self, name)[value:]
            else:
                setattr(self, name, value)

    def _hang_up(self, by: str) -> None:
        if self.hung_up:
            return
        self.hung_up = True
        self.hangup_by = by
        self._notice_due = True
        if by == "caller":
            self.variables["HANGUPCAUSE"] = "16"  # normal clearing (18)

    # -- time passing with the caller on the line --------------------------------------

    def _listen(self, seconds: float | None, digits: str) -> CallerEvent | None:
        """Let ``seconds`` pass (``None``: for ever) while the channel hears ``digits``.

        Returns the first event that ends it (a digit in ``digits`` or a hangup) with
        :attr:`now` when it took effect (a digit when its tone ends), or ``None`` with
        :attr:`now` at the end. Raises :class:`_Interrupted` at a new command line (33).
        """
        self.caller.drop_before(self.now)
        end = None if seconds is None else self.now + seconds
        cut = self._cut if self._cut is not None and (end is None or self._cut < end) else None
        limit = cut if cut is not None else end
        while True:
            event = self.caller.next_event(self.now, listening=True, digits=bool(digits))
            if event is None and limit is None:
                event = CallerEvent(self.now)  # nobody will ever press anything: caller leaves
            when = None if event is None else event.at + (0 if event.hangup else DTMF_DURATION)
            if event is None or (limit is not None and when is not None and when >= limit):
                self.now = max(self.now, limit if limit is not None else self.now)
                if cut is not None:
                    raise _Interrupted
                return None
            self.caller.consume(event)
            self.now = max(self.now, when or self.now)
            if event.hangup:
                self._hang_up("caller")
                return event
            if event.dtmf in digits:
                return event


class MemoryWire:
    """The channel's side of the in-memory wire: the env block first, then the replies;
    reads hand out at most ``setup.read_size`` bytes."""

    def __init__(self, asterisk: MemoryAsterisk) -> None:
        self.asterisk = asterisk
        self.closed = False
        self._env = asterisk.env_block()

    async def write(self, data: bytes) -> None:
        if self.closed:
            raise ConnectionClosed("the in-memory AGI connection is closed")
        self.asterisk.receive(data)
        await asyncio.sleep(0)

    async def read(self) -> bytes:
        if self._env:
            data, self._env = self._env, b""
            return data
        data = self.asterisk.take_output(self.asterisk.setup.read_size)
        if data or self.asterisk.eof:
            return data
        raise RemoteProtocolError("in-memory Asterisk has nothing to send: a reply was lost")

    async def aclose(self) -> None:
        self.closed = True
