"""An in-memory Asterisk: the other end of a FastAGI session, in virtual time.

Flow tests, ``agi-callbot simulate`` and the reliability suite run calls through it,
so it answers every command the way Asterisk 22 does in ``tests/transcripts``, and
``tests/transport/test_replay_memory.py`` replays all of them through it:

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

Time is virtual: a 10 s prompt "plays" at once and its reply is due 10 s later, so a
whole call runs in microseconds while timeouts still elapse in order. A reader that
waits for a reply (:meth:`take_output`, the Channel) gets it at once; :meth:`advance`
lets the server idle, and a line written before a reply was due meets the command
still running.

NOT MODELLED (the same list, keyed by transcript and line, is ``NOT_MODELLED`` in
tests/transport/test_replay_memory.py; the replay fails when either side changes):

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
import dataclasses
import itertools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from agi_callbot.agi.commands import parse_args
from agi_callbot.agi.connection import Connection
from agi_callbot.agi.env import Environment, environment_lines
from agi_callbot.channel import Channel, Timeouts
from agi_callbot.transport.apps import (
    DIAL_OUTCOMES,
    QUEUE_OUTCOMES,
    DialplanApps,
    QueueSetup,
    atoi,
)
from agi_callbot.transport.caller import DTMF_DURATION, Caller, CallerEvent
from agi_callbot.transport.media import (
    FORMATS,
    MEDIA_TYPES,
    RATE,
    SAY_FILE,
    SAY_LETTER,
    Served,
    Sound,
    file_sound,
    number_files_en,
    number_files_es,
)

#: Asterisk reads a command in pieces of this many bytes, newline included (17)
MAX_READ = 8191
ALL_DIGITS = "0123456789*#ABCD"
_DEAD_OK = frozenset(
    {"NOOP", "GET VARIABLE", "GET FULL VARIABLE", "SET VARIABLE", "VERBOSE", "EXEC"}
    | {"DATABASE GET", "DATABASE PUT", "DATABASE DEL", "DATABASE DELTREE"}
)
#: commands that watch the AGI socket: a new line stops them (33); all but WAIT FOR
#: DIGIT then stay silent
_WATCHING = frozenset(
    {"STREAM FILE", "GET DATA", "GET OPTION", "SAY DIGITS", "SAY ALPHA", "SAY NUMBER"}
    | {"WAIT FOR DIGIT"}
)
_DEAD = "511 Command Not Permitted on a dead channel or intercept routine"
_UNKNOWN = "510 Invalid or unknown command"
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


class MemoryAsterisk(DialplanApps):
    """One call's Asterisk side. ``await ast.run(handler)`` runs ``handler(channel)``.

    ``sounds`` maps prompt names (or URLs) to seconds or a :class:`Sound`; other names
    play for 2 s, names in ``missing_sounds`` are missing, absolute paths are looked up
    on disk like Asterisk does; SAY's stock prompts may be given per language
    (``es/digits/thousand``) for the folders in ``prompt_languages``. ``moh_classes``
    lists the hold-music classes that exist (``None``: any class exists);
    ``queue_music`` a queue's ``musicclass``.
    """

    def __init__(
        self,
        script: str = "demo",
        *,
        args: tuple[str, ...] = (),
        callerid: str = "15550100",
        calleridname: str = "E2E Caller",
        language: str = "en",
        caller: str | Caller = "",
        sounds: Mapping[str, float | Sound] | None = None,
        missing_sounds: set[str] | frozenset[str] = frozenset(),
        urls: Mapping[str, Served] | None = None,
        media_cache_path: int = 33,
        queues: Mapping[str, str | QueueSetup] | None = None,
        dial: Mapping[str, str] | None = None,
        queue_music: Mapping[str, str] | None = None,
        moh_classes: set[str] | frozenset[str] | None = None,
        prompt_languages: set[str] | frozenset[str] | None = None,
        ring_seconds: float = 3.0,
        talk_seconds: float = 5.0,
        agisighup: bool = True,
        exit_on_hangup: bool = False,
        hangup_at_command: int | None = None,
        read_size: int = 65536,
        dnid: str = "unknown",
        variables: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        number = next(_uniqueids)
        environment = Environment(
            network="yes",
            network_script=script,
            request=f"agi://127.0.0.1:4573/{script}",
            channel=f"PJSIP/trunk-{number:08x}",
            language=language,
            type="PJSIP",
            uniqueid=f"1795515630.{number}",
            version="22.10.1",
            callerid=callerid or "unknown",
            calleridname=calleridname or "unknown",
            callingpres="0",
            callingani2="0",
            callington="0",
            callingtns="0",
            dnid=dnid,
            rdnis="unknown",
            context="callbot-in",
            extension="100",
            priority="2",
            enhanced="0.0",
            accountcode="",
            threadid="140445473199808",
            args=args,
        )
        #: ``env`` overrides ``agi_*`` values (without the prefix), e.g. a recorded channel
        self.environment = dataclasses.replace(environment, **dict(env or {}))
        self.caller = caller if isinstance(caller, Caller) else Caller(caller)
        self.sounds = {
            k: v if isinstance(v, Sound) else Sound(float(v)) for k, v in (sounds or {}).items()
        }
        self.missing_sounds = set(missing_sounds)
        self.urls = dict(urls or {})
        #: length of the local path the media cache stores a URL at (astcachedir/bucket-…)
        self.media_cache_path = media_cache_path
        self.queues = dict(queues or {})
        self.dial = dict(dial or {})
        for queue, setup in self.queues.items():
            outcome = setup.outcome if isinstance(setup, QueueSetup) else setup
            if outcome not in QUEUE_OUTCOMES:
                raise ValueError(
                    f"queue {queue!r}: unknown outcome {outcome!r}; use one of"
                    f" {', '.join(QUEUE_OUTCOMES)}"
                )
        for target, outcome in self.dial.items():
            if outcome not in DIAL_OUTCOMES:
                raise ValueError(
                    f"dial {target!r}: unknown outcome {outcome!r}; use one of"
                    f" {', '.join(DIAL_OUTCOMES)}"
                )
        self.queue_music = dict(queue_music or {})
        self.moh_classes = None if moh_classes is None else set(moh_classes)
        #: languages with a sounds folder (``None``: any)
        self.prompt_languages = None if prompt_languages is None else set(prompt_languages)
        #: res_musiconhold's preferchannelclass: CHANNEL(musicclass) before the queue's
        self.prefer_channel_class = True
        self.ring_seconds = ring_seconds
        self.talk_seconds = talk_seconds
        self.agisighup = agisighup
        self.exit_on_hangup = exit_on_hangup
        self.hangup_at_command = hangup_at_command
        self.read_size = read_size
        self.variables: dict[str, str] = dict(variables or {})
        self.database: dict[tuple[str, str], str] = {}
        self.language = language
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
        """Run one call: the env block, then ``handler`` with a live :class:`Channel`."""
        wire = MemoryWire(self)
        connection = Connection()
        connection.receive_data(self.env_block())
        connection.next_event()
        channel = Channel(connection, wire, timeouts=Timeouts(reply=5.0, media=5.0, exec=5.0))
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
        if self.agisighup:
            self._scheduled.append((self.now, b"HANGUP\n"))
            if self.exit_on_hangup:
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
        if self.hangup_at_command == len(self.commands) and not self.hung_up:
            self._hang_up("caller")
            self._flush_notice()
        words = parse_args(text)
        name = _command_name(words)
        snapshot = self._snapshot() if name in _WATCHING else None
        self._emit(self._dispatch(words, name))
        self._flush_notice()
        self._running = _Running(name or "", self.now, snapshot, text)

    def _interrupt(self, running: _Running) -> None:
        """Run ``running`` again, stopped by the line arriving at :attr:`world` (33)."""
        assert running.snapshot is not None
        cut = self.world
        self._restore(running.snapshot)
        self._cut = cut
        try:
            self._dispatch(parse_args(running.line), running.name)
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

    def _dispatch(self, words: list[str], name: str | None) -> str:
        spec = _COMMANDS.get(name or "")
        if spec is None:
            return _UNKNOWN
        handler, least, most = spec
        args = words[len(name.split()) :] if name else []
        if len(args) < least or (most is not None and len(args) > most):
            return _usage(name or "")
        if self.hung_up and name not in _DEAD_OK:
            return _DEAD
        return handler(self, args)

    # -- media -----------------------------------------------------------------------

    def _sound(self, name: str) -> Sound | None:
        """What Asterisk would find for ``name``; ``None`` if it finds nothing."""
        if name in self.missing_sounds:
            return None
        if name in self.sounds:
            return self.sounds[name]
        if name in self.urls:
            return self._fetch(name, self.urls[name])
        if name.startswith("/"):
            return file_sound(Path(name))
        return Sound(2.0)

    def _fetch(self, url: str, served: Served) -> Sound | None:
        """res_http_media_cache: download, pick the format, open the file (40, 42)."""
        self.now += served.delay  # fetched while the command runs
        if served.status != 200:
            return None  # 404, or nothing listening
        # asterisk#444: the local path is copied into strlen(URL)+strlen(language)+4 bytes
        if self.media_cache_path + 1 > len(url) + len(self.language) + 4:
            return None
        content_type = (served.content_type or "").replace(" ", "")
        ext = MEDIA_TYPES.get(content_type) or MEDIA_TYPES.get(content_type.split(";")[0])
        ext = ext or PurePosixPath(urlsplit(url).path).suffix
        if ext not in FORMATS:
            return None  # no extension Asterisk knows: "does not exist in any format"
        per_second, rate = FORMATS[ext]
        if ext in (".wav", ".wav16"):
            # the bytes must be a RIFF file at the rate the format expects (36)
            return Sound(served.seconds, rate) if served.kind == ext[1:] else None
        return Sound(served.size / per_second, rate)  # raw formats play any bytes (42)

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

    def _stop_moh(self) -> None:
        self.moh_playing = None

    def _play(self, name: str, digits: str, offset: int = 0) -> tuple[str, int]:
        """Play a prompt: (``done``/``digit``/``hangup``/``missing``, endpos in file samples).

        The digit that stopped it is in :attr:`last`."""
        self._stop_moh()  # STREAM FILE stops hold music and does not restart it (14)
        sound = self._sound(name)
        if sound is None:
            return "missing", 0
        self.played.append(name)
        total = round(sound.seconds * sound.rate)
        start = self.now
        event = self._listen(max(total - offset, 0) / sound.rate, digits)
        if event is None:
            return "done", max(total, offset)
        self.last = event.dtmf
        endpos = offset + int((self.now - start) * sound.rate)
        return ("hangup" if event.hangup else "digit"), endpos

    def stream_file(self, args: list[str]) -> str:
        """PLAYBACKSTATUS: SUCCESS, or FAILED when a digit or hangup stopped it (37);
        a file that does not open leaves it alone (03)."""
        offset = atoi(args[2]) if len(args) > 2 else 0
        outcome, endpos = self._play(args[0], args[1], max(offset, 0))
        if outcome != "missing":
            self.variables["PLAYBACKSTATUS"] = "SUCCESS" if outcome == "done" else "FAILED"
        self.failed = self.failed or outcome == "missing"
        if outcome in ("missing", "hangup"):
            return f"200 result=-1 endpos={endpos}"
        if outcome == "digit":
            return f"200 result={ord(self.last or '0')} endpos={endpos}"
        return f"200 result=0 endpos={endpos}"

    def get_option(self, args: list[str]) -> str:
        """STREAM FILE, then a wait for one digit in ms (37): any digit ends the wait."""
        timeout = atoi(args[2]) / 1000 if len(args) > 2 else 5.0
        outcome, endpos = self._play(args[0], args[1])
        self.failed = self.failed or outcome == "missing"
        if outcome in ("missing", "hangup"):
            return f"200 result=-1 endpos={endpos}"
        if outcome == "digit":
            return f"200 result={ord(self.last or '0')} endpos={endpos}"
        event = self._listen(timeout if timeout > 0 else 5.0, ALL_DIGITS)
        if event is None or event.hangup or event.dtmf not in args[1]:
            return f"200 result=0 endpos={endpos}"  # a hangup here answers 0 too (37)
        return f"200 result={ord(event.dtmf or '0')} endpos={endpos}"

    def get_data(self, args: list[str]) -> str:
        timeout = atoi(args[1]) / 1000 if len(args) > 1 else 0
        most = atoi(args[2]) if len(args) > 2 else 0
        timeout = timeout if timeout > 0 else 6.0  # the channel's digit timeout (04)
        most = most if most > 0 else 1024
        outcome, _ = self._play(args[0], ALL_DIGITS)
        if outcome in ("missing", "hangup"):
            return "200 result=-1"  # digits typed before a hangup are lost (19)
        digits = ""
        pressed = self.last if outcome == "digit" else None
        while True:
            if pressed == "#":
                return f"200 result={digits}"
            if pressed is not None:
                digits += pressed
                if len(digits) >= most:
                    return f"200 result={digits}"
            event = self._listen(timeout, ALL_DIGITS)
            if event is None:
                return f"200 result={digits} (timeout)"
            if event.hangup:
                return "200 result=-1"
            pressed = event.dtmf

    def wait_for_digit(self, args: list[str]) -> str:
        timeout = atoi(args[0])
        event = self._listen(None if timeout < 0 else timeout / 1000, ALL_DIGITS)
        if event is None:
            return "200 result=0"
        return "200 result=-1" if event.hangup else f"200 result={ord(event.dtmf or '0')}"

    def _say(self, files: list[str], digits: str) -> str:
        """Play stock prompts one after the other; an escape digit stops them (06)."""
        self._stop_moh()
        for name in files:
            seconds = self._say_length(name)
            if seconds is None:
                continue  # missing in every language: skipped, still 0 (39's "100")
            self.played.append(name)
            event = self._listen(seconds, digits)
            if event is not None:
                return "200 result=-1" if event.hangup else f"200 result={ord(event.dtmf or '0')}"
        return "200 result=0"

    def _say_length(self, name: str) -> float | None:
        """A stock prompt in the channel's language, else English (39): ``sounds`` may give
        its length as ``<lang>/<name>`` or ``<name>``."""
        for key in (f"{self._prompt_language()}/{name}", name):
            if key in self.missing_sounds:
                return None
            if key in self.sounds:
                return self.sounds[key].seconds
        return SAY_LETTER if name.startswith("letters/") else SAY_FILE

    def _prompt_language(self) -> str:
        """The sounds folder Asterisk uses: the language, else its part before ``_``
        (``es_MX`` uses ``es``), else English (``xx``; 39)."""
        language = self.language.lower()
        for candidate in (language, language.split("_")[0]):
            if self.prompt_languages is None or candidate in self.prompt_languages:
                return candidate
        return "en"

    def say_digits(self, args: list[str]) -> str:
        """One ``digits/N`` prompt per digit; other characters play nothing (06)."""
        spoken = {"*": "digits/star", "#": "digits/pound"}
        files = [spoken.get(c, f"digits/{c}") for c in args[0] if c in "0123456789*#"]
        return self._say(files, args[1])

    def say_alpha(self, args: list[str]) -> str:
        return self._say([f"letters/{c.lower()}" for c in args[0]], args[1])

    def say_number(self, args: list[str]) -> str:
        """English or Spanish grammar by the channel's language (39); ``f`` picks ``1F``."""
        gender = args[2] if len(args) > 2 else ""
        if self.language.lower().startswith("es"):
            files = number_files_es(atoi(args[0]), gender)
        else:
            files = number_files_en(atoi(args[0]))
        return self._say(files, args[1])

    def control_stream_file(self, args: list[str]) -> str:
        """Play with stop/skip/pause keys; ``endpos`` in ms, ``-1`` at the end (37)."""
        name, stop = args[0], args[1]
        skip = atoi(args[2]) / 1000 if len(args) > 2 and args[2] else 3.0
        forward = args[3] if len(args) > 3 and args[3] else "#"
        rewind = args[4] if len(args) > 4 and args[4] else "*"
        pause = args[5] if len(args) > 5 and args[5] else ""
        offset_ms = atoi(args[6]) if len(args) > 6 else 0
        self._stop_moh()
        sound = self._sound(name)
        if sound is None:
            self.variables.update(CPLAYBACKSTATUS="ERROR", CPLAYBACKOFFSET="-1")
            self.failed = True
            return "200 result=-1 endpos=-1"
        # offsets count ms of an 8 kHz file: a 16 kHz one moves twice as fast (37)
        scale = sound.rate / RATE
        position = min(offset_ms / 1000 / scale, sound.seconds)
        self.played.append(name)
        keys = stop + forward + rewind + pause
        paused = False
        while True:
            started = self.now
            event = self._listen(None if paused else sound.seconds - position, keys)
            if not paused:
                position += self.now - started
            if event is None:
                self.variables.update(CPLAYBACKSTATUS="SUCCESS", CPLAYBACKOFFSET="-1")
                return "200 result=0 endpos=-1"
            reached = int(position * 1000 * scale)
            if event.hangup:
                self.variables.update(CPLAYBACKSTATUS="ERROR", CPLAYBACKOFFSET=str(reached))
                return f"200 result=-1 endpos={reached}"
            key = event.dtmf or ""
            if key in stop:
                self.variables.update(
                    CPLAYBACKSTATUS="USERSTOPPED",
                    CPLAYBACKOFFSET=str(reached),
                    CPLAYBACKSTOPKEY=key,
                )
                return f"200 result={ord(key)} endpos={reached}"
            if key in pause:
                paused = not paused
                if not paused:
                    self.played.append(name)  # Asterisk opens the file again (37)
            elif not paused and key in forward:
                position = min(position + skip, sound.seconds)
            elif not paused and key in rewind:
                position = max(position - skip, 0.0)

    def answer(self, args: list[str]) -> str:
        if not self.answered:
            self.answered = True
            self.now += 0.5  # the first ANSWER takes about 0.5 s, a second none (31)
            self.answered_at = self.now
        return "200 result=0"

    def _channel_known(self, name: str) -> bool:
        """This call's channel, or the other half of its Local channel (07)."""
        own = self.environment.channel
        peers = {own}
        if own.startswith("Local/") and own[-2:] in (";1", ";2"):
            peers.add(own[:-1] + ("1" if own.endswith("2") else "2"))
        return name in peers

    def hangup(self, args: list[str]) -> str:
        if args and not self._channel_known(args[0]):
            return "200 result=-1"
        self._hang_up("bot")
        return "200 result=1"

    def channel_status(self, args: list[str]) -> str:
        if args and not self._channel_known(args[0]):
            return "200 result=-1"
        return "200 result=6" if self.answered else "200 result=4"

    def set_music(self, args: list[str]) -> str:
        """Always ``0``; an unknown class plays ``default``; neither ON nor OFF: ignored (14)."""
        state = args[0].upper()
        if state == "ON":
            wanted = args[1] if len(args) > 1 else "default"
            self._start_moh(wanted if self._moh_exists(wanted) else "default")
        elif state == "OFF":
            self._stop_moh()
        return "200 result=0"

    def _moh_exists(self, name: str) -> bool:
        return bool(name) and (self.moh_classes is None or name in self.moh_classes)

    def _start_moh(self, name: str) -> None:
        self.moh.append(name)
        self.moh_playing = name

    def noop(self, args: list[str]) -> str:
        return "200 result=0"

    def verbose(self, args: list[str]) -> str:
        return "200 result=1"

    # -- variables -------------------------------------------------------------------

    def set_variable(self, args: list[str]) -> str:
        name, value = args[0], args[1]
        upper = name.upper()
        if upper == "CHANNEL(LANGUAGE)":
            self.language = value
        elif upper == "CHANNEL(MUSICCLASS)":
            self.musicclass = value
        else:
            self.variables[name.lstrip("_")] = value
        return "200 result=1"

    def get_variable(self, args: list[str]) -> str:
        value = self._variable(args[0])
        return "200 result=0" if value is None else f"200 result=1 ({value})"

    def get_full_variable(self, args: list[str]) -> str:
        if len(args) > 1 and not self._channel_known(args[1]):
            return "200 result=0"
        return f"200 result=1 ({self.expand(args[0])})"

    def _variable(self, name: str) -> str | None:
        env = self.environment
        functions = {
            "CALLERID(NAME)": env.calleridname,
            "CALLERID(NUM)": "" if env.callerid == "unknown" else env.callerid,
            "CALLERID(ALL)": f'"{env.calleridname}" <{env.callerid}>',
            "CHANNEL": env.channel,
            "CHANNEL(LANGUAGE)": self.language,
            "CHANNEL(MUSICCLASS)": self.musicclass,
            "CHANNEL(STATE)": "Up" if self.answered else "Ring",
            "CHANNEL(AUDIONATIVEFORMAT)": "(slin)",
            "CHANNEL(AUDIOWRITEFORMAT)": "slin",
            "CONTEXT": self.context,
            "EXTEN": self.extension,
            "PRIORITY": self.priority,
            "UNIQUEID": env.uniqueid,
        }
        upper = name.upper()
        if upper in functions:
            return functions[upper]
        if upper.startswith("LEN(") and name.endswith(")"):
            return str(len(self.expand(name[4:-1])))
        return self.variables.get(name)

    def expand(self, text: str) -> str:
        """Substitute ``${…}`` (nested) like GET FULL VARIABLE; unset is empty."""
        out: list[str] = []
        i = 0
        while i < len(text):
            if text.startswith("${", i):
                depth, j = 1, i + 2
                while j < len(text) and depth:
                    if text.startswith("${", j):
                        depth += 1
                        j += 1
                    elif text[j] == "}":
                        depth -= 1
                    j += 1
                inner = self.expand(text[i + 2 : j - 1])
                out.append(self._variable(inner) or "")
                i = j
            else:
                out.append(text[i])
                i += 1
        return "".join(out)

    def database_get(self, args: list[str]) -> str:
        value = self.database.get((args[0], args[1]))
        return "200 result=0" if value is None else f"200 result=1 ({value})"

    def database_put(self, args: list[str]) -> str:
        self.database[(args[0], args[1])] = args[2]
        return "200 result=1"

    def database_del(self, args: list[str]) -> str:
        return (
            "200 result=1"
            if self.database.pop((args[0], args[1]), None) is not None
            else ("200 result=0")
        )

    def database_deltree(self, args: list[str]) -> str:
        family, prefix = args[0], args[1] if len(args) > 1 else ""
        doomed = [k for k in self.database if k[0] == family and k[1].startswith(prefix)]
        for key in doomed:
            del self.database[key]
        return "200 result=1" if doomed else "200 result=0"


def _command_name(words: list[str]) -> str | None:
    """The longest command name the words start with (names are case-insensitive, 16)."""
    upper = [w.upper() for w in words]
    for size in (3, 2, 1):
        name = " ".join(upper[:size])
        if len(upper) >= size and name in _COMMANDS:
            return name
    return None


def _usage(name: str) -> str:
    return (
        "520-Invalid command syntax.  Proper usage follows:\n"
        f"Usage: {name} (see the AGI documentation)\n"
        "520 End of proper usage."
    )


_COMMANDS: dict[str, tuple[Callable[[MemoryAsterisk, list[str]], str], int, int | None]] = {
    # name: (handler, least and most arguments; more or fewer answer 520 like res_agi)
    "ANSWER": (MemoryAsterisk.answer, 0, None),
    "HANGUP": (MemoryAsterisk.hangup, 0, 1),
    "NOOP": (MemoryAsterisk.noop, 0, None),
    "CHANNEL STATUS": (MemoryAsterisk.channel_status, 0, 1),
    "STREAM FILE": (MemoryAsterisk.stream_file, 2, 3),
    "CONTROL STREAM FILE": (MemoryAsterisk.control_stream_file, 2, 7),
    "GET OPTION": (MemoryAsterisk.get_option, 2, 3),
    "GET DATA": (MemoryAsterisk.get_data, 1, None),
    "WAIT FOR DIGIT": (MemoryAsterisk.wait_for_digit, 1, 1),
    "SAY DIGITS": (MemoryAsterisk.say_digits, 2, 2),
    "SAY ALPHA": (MemoryAsterisk.say_alpha, 2, 2),
    "SAY NUMBER": (MemoryAsterisk.say_number, 2, 3),
    "SET MUSIC": (MemoryAsterisk.set_music, 1, 2),
    "SET VARIABLE": (MemoryAsterisk.set_variable, 2, 2),
    "GET VARIABLE": (MemoryAsterisk.get_variable, 1, 1),
    "GET FULL VARIABLE": (MemoryAsterisk.get_full_variable, 1, 2),
    "VERBOSE": (MemoryAsterisk.verbose, 1, 2),
    "EXEC": (MemoryAsterisk.exec, 1, None),
    "DATABASE GET": (MemoryAsterisk.database_get, 2, 2),
    "DATABASE PUT": (MemoryAsterisk.database_put, 3, 3),
    "DATABASE DEL": (MemoryAsterisk.database_del, 2, 2),
    "DATABASE DELTREE": (MemoryAsterisk.database_deltree, 1, 2),
}


class MemoryWire:
    """The channel's side of the in-memory wire; reads hand out at most ``read_size`` bytes."""

    def __init__(self, asterisk: MemoryAsterisk) -> None:
        self.asterisk = asterisk
        self.closed = False

    async def write(self, data: bytes) -> None:
        if self.closed:
            raise ConnectionResetError("in-memory AGI connection is closed")
        self.asterisk.receive(data)
        await asyncio.sleep(0)

    async def read(self) -> bytes:
        data = self.asterisk.take_output(self.asterisk.read_size)
        if data or self.asterisk.eof:
            return data
        raise ConnectionError("in-memory Asterisk has nothing to send: a reply was lost")

    async def aclose(self) -> None:
        self.closed = True
