"""An in-memory Asterisk: the other end of a FastAGI session, in virtual time.

Flow tests, ``agi-callbot simulate`` and the reliability suite run calls through it,
so it answers every command the way Asterisk 22 does in ``tests/transcripts`` (a
test replays all of them through it): the env block, reply shapes, 510/511/520,
the ``HANGUP`` notice (after the interrupted command's reply, while idle, none with
AGISIGHUP=no, twice then EOF with AGIEXITONHANGUP), dead-channel rules, DTMF during
prompts / GET DATA / WAIT FOR DIGIT / GET OPTION, EXEC Playback/Wait/Queue/Dial/Set
and the variables they leave (PLAYBACKSTATUS, QUEUESTATUS, DIALSTATUS,
ANSWEREDTIME…), missing prompt files, 8191-byte line pieces and CR kept in arguments.

Time is virtual: a 10 s prompt "plays" at once and advances :attr:`now` by 10 s,
so a whole call runs in microseconds while timeouts still elapse in order.

What it does not model (the replay test lists these lines too): Asterisk's exact
520 usage texts (its own documentation; we send a short one), the HTTP media cache
and audio formats/sample rates of files (every existing file plays at 8 kHz),
CONTROL STREAM FILE's skip/pause keys, queue announcements, how SAY renders
numbers per language, and a command written while another runs (33): one command
is answered completely when its line arrives.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from agi_callbot.agi.connection import Connection
from agi_callbot.agi.env import Environment, environment_lines
from agi_callbot.channel import Channel, Timeouts
from agi_callbot.transport.caller import DTMF_DURATION, Caller, CallerEvent

MAX_READ = 8191
RATE = 8000
ALL_DIGITS = "0123456789*#ABCD"
#: file formats Asterisk picks from when a name has no extension
FORMATS = (".sln", ".sln16", ".ulaw", ".alaw", ".wav", ".wav16", ".gsm", ".g722")
_BYTES_PER_SECOND = {".sln": 16000, ".sln16": 32000, ".ulaw": 8000, ".alaw": 8000, ".wav16": 32000}
_DEAD_OK = frozenset(
    {"NOOP", "GET VARIABLE", "GET FULL VARIABLE", "SET VARIABLE", "VERBOSE", "EXEC"}
)
_uniqueids = itertools.count(1)

#: queue outcomes a test may ask for, by queue name
QUEUE_OUTCOMES = ("answer", "timeout", "full", "joinempty", "leaveempty", "continue", "hangup")
DIAL_OUTCOMES = ("ANSWER", "BUSY", "NOANSWER", "CHANUNAVAIL", "CONGESTION", "HANGUP")


def parse_args(line: str) -> list[str]:
    """Split a command line the way res_agi does: blanks, ``"`` quoting, ``\\`` escapes."""
    words: list[str] = []
    current: list[str] | None = None
    quoted = escaped = False
    for char in line:
        if char == '"' and not escaped:
            quoted = not quoted
            if quoted and current is None:
                current = []
            continue
        if char in " \t" and not quoted and not escaped:
            if current is not None:
                words.append("".join(current))
                current = None
            continue
        if char == "\\" and not escaped:
            escaped = True
            continue
        if current is None:
            current = []
        current.append(char)
        escaped = False
    if current is not None:
        words.append("".join(current))
    return words


class MemoryAsterisk:
    """One call's Asterisk side. ``await ast.run(handler)`` runs ``handler(channel)``."""

    def __init__(
        self,
        script: str = "demo",
        *,
        args: tuple[str, ...] = (),
        callerid: str = "15550100",
        calleridname: str = "E2E Caller",
        language: str = "en",
        caller: str | Caller = "",
        sounds: Mapping[str, float] | None = None,
        missing_sounds: set[str] | frozenset[str] = frozenset(),
        queues: Mapping[str, str] | None = None,
        dial: Mapping[str, str] | None = None,
        queue_music: Mapping[str, str] | None = None,
        talk_seconds: float = 5.0,
        agisighup: bool = True,
        exit_on_hangup: bool = False,
        hangup_at_command: int | None = None,
        read_size: int = 65536,
        dnid: str = "unknown",
        variables: Mapping[str, str] | None = None,
    ) -> None:
        number = next(_uniqueids)
        self.environment = Environment(
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
        self.caller = caller if isinstance(caller, Caller) else Caller(caller)
        self.sounds = dict(sounds or {})
        self.missing_sounds = set(missing_sounds)
        self.queues = dict(queues or {})
        self.dial = dict(dial or {})
        self.queue_music = dict(queue_music or {})
        self.talk_seconds = talk_seconds
        self.agisighup = agisighup
        self.exit_on_hangup = exit_on_hangup
        self.hangup_at_command = hangup_at_command
        self.read_size = read_size
        self.variables: dict[str, str] = dict(variables or {})
        self.language = language
        self.now = 0.0
        self.answered = False
        self.hung_up = False
        self.hangup_by: str | None = None
        self.commands: list[str] = []
        self.played: list[str] = []
        self.moh: list[str] = []
        self.apps: list[tuple[str, str]] = []
        self.eof = False
        self._out = bytearray()
        self._in = bytearray()
        self._notice_due = False

    # -- the wire --------------------------------------------------------------------

    def env_block(self) -> bytes:
        return b"".join(line + b"\n" for line in environment_lines(self.environment)) + b"\n"

    def receive(self, data: bytes) -> None:
        """Bytes from the server: every complete line is answered at once."""
        self._in += data
        while True:
            end = self._in.find(b"\n")
            if end < 0:
                if len(self._in) >= MAX_READ - 1:
                    self._line(bytes(self._in[: MAX_READ - 1]))
                    del self._in[: MAX_READ - 1]
                    continue
                return
            if end >= MAX_READ - 1:
                self._line(bytes(self._in[: MAX_READ - 1]))
                del self._in[: MAX_READ - 1]
                continue
            line = bytes(self._in[:end])
            del self._in[: end + 1]
            self._line(line)

    def take_output(self, limit: int | None = None) -> bytes:
        size = len(self._out) if limit is None else min(limit, len(self._out))
        data = bytes(self._out[:size])
        del self._out[:size]
        return data

    def advance(self, seconds: float) -> None:
        """Let time pass while no command runs: DTMF is lost, a hangup is noticed (20)."""
        until = self.now + seconds
        event = self.caller.next_event(self.now, listening=False)
        while event is not None and event.at <= until:
            self.caller.consume(event)
            if event.hangup and not self.hung_up:
                self.now = event.at
                self._hang_up("caller")
                self._flush_notice()
            event = self.caller.next_event(self.now, listening=False)
        self.now = max(self.now, until)
        self.caller.drop_before(self.now)

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

    # -- one command line ------------------------------------------------------------

    def _line(self, raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace")
        self.commands.append(text)
        if self.eof:
            return
        if self.hangup_at_command == len(self.commands) and not self.hung_up:
            self._hang_up("caller")
            self._flush_notice()
        elif not self.hung_up:
            self._idle_hangup()
        words = parse_args(text)
        reply = self._dispatch(words)
        self._emit(reply)
        self._flush_notice()

    def _idle_hangup(self) -> None:
        self.caller.drop_before(self.now)
        event = self.caller.next_event(self.now, listening=False)
        if event is not None and event.hangup and event.at <= self.now:
            self.caller.consume(event)
            self._hang_up("caller")
            self._flush_notice()

    def _emit(self, reply: str) -> None:
        self._out += reply.encode("utf-8") + b"\n"

    def _flush_notice(self) -> None:
        if not self._notice_due:
            return
        self._notice_due = False
        if not self.agisighup:
            return
        self._out += b"HANGUP\n"
        if self.exit_on_hangup:
            self._out += b"HANGUP\n"
            self.eof = True

    def _hang_up(self, by: str) -> None:
        if self.hung_up:
            return
        self.hung_up = True
        self.hangup_by = by
        self._notice_due = True

    def _dispatch(self, words: list[str]) -> str:
        if not words:
            return "510 Invalid or unknown command"
        upper = [w.upper() for w in words]
        for size in (3, 2, 1):
            name = " ".join(upper[:size])
            spec = _COMMANDS.get(name)
            if spec is not None:
                break
        else:
            return "510 Invalid or unknown command"
        handler, least, most = spec
        args = words[size:]
        if len(args) < least or (most is not None and len(args) > most):
            return _usage(name)
        if self.hung_up and name not in _DEAD_OK:
            return "511 Command Not Permitted on a dead channel or intercept routine"
        return handler(self, args)

    # -- media -----------------------------------------------------------------------

    def _length(self, name: str) -> float | None:
        """Seconds of audio Asterisk would find for ``name``, ``None`` if it finds nothing."""
        if name in self.missing_sounds:
            return None
        if name in self.sounds:
            return self.sounds[name]
        if name.startswith("/"):
            return _file_length(Path(name))
        return 2.0

    def _listen(self, seconds: float | None, digits: str) -> CallerEvent | None:
        """Let ``seconds`` pass (``None``: for ever) while the channel hears ``digits``.

        Returns the first event that ends it (a digit in ``digits`` or a hangup) with
        :attr:`now` at that moment, or ``None`` with :attr:`now` at the end.
        """
        self.caller.drop_before(self.now)
        end = None if seconds is None else self.now + seconds
        while True:
            event = self.caller.next_event(self.now, listening=True)
            if event is None and end is None:
                event = CallerEvent(self.now)  # nobody will ever press anything: caller leaves
            if event is None or (end is not None and event.at >= end):
                self.now = end if end is not None else self.now
                return None
            self.caller.consume(event)
            self.now = max(self.now, event.at)
            if event.hangup:
                self._hang_up("caller")
                return event
            if event.dtmf in digits:
                self.now += DTMF_DURATION
                return event

    def _play(self, name: str, digits: str, offset: int = 0) -> tuple[str, int]:
        """Play a prompt: (``done``/``digit``/``hangup``/``missing``, endpos); digit in ``.last``."""
        length = self._length(name)
        if length is None:
            self.variables["PLAYBACKSTATUS"] = "FAILED"
            return "missing", 0
        self.played.append(name)
        total = int(length * RATE)
        start = self.now
        event = self._listen(max(total - offset, 0) / RATE, digits)
        if event is None:
            self.variables["PLAYBACKSTATUS"] = "SUCCESS"
            return "done", max(total, offset)
        endpos = offset + int((event.at - start) * RATE)
        self.last = event.dtmf
        self.variables["PLAYBACKSTATUS"] = "FAILED"
        return ("hangup" if event.hangup else "digit"), endpos

    def stream_file(self, args: list[str]) -> str:
        offset = int(args[2]) if len(args) > 2 and args[2].lstrip("-").isdigit() else 0
        outcome, endpos = self._play(args[0], args[1], offset)
        if outcome in ("missing", "hangup"):
            return f"200 result=-1 endpos={endpos}"
        if outcome == "digit":
            return f"200 result={ord(self.last or '0')} endpos={endpos}"
        return f"200 result=0 endpos={endpos}"

    def get_option(self, args: list[str]) -> str:
        timeout = int(args[2]) / 1000 if len(args) > 2 and args[2].isdigit() else 5.0
        outcome, endpos = self._play(args[0], args[1])
        if outcome in ("missing", "hangup"):
            return f"200 result=-1 endpos={endpos}"
        if outcome == "digit":
            return f"200 result={ord(self.last or '0')} endpos={endpos}"
        event = self._listen(timeout, ALL_DIGITS)
        if event is None or event.hangup or event.dtmf not in args[1]:
            return f"200 result=0 endpos={endpos}"
        return f"200 result={ord(event.dtmf or '0')} endpos={endpos}"

    def get_data(self, args: list[str]) -> str:
        timeout = (
            int(args[1]) / 1000 if len(args) > 1 and args[1].isdigit() and int(args[1]) else 6.0
        )
        most = int(args[2]) if len(args) > 2 and args[2].isdigit() and int(args[2]) else 1024
        outcome, _ = self._play(args[0], ALL_DIGITS)
        if outcome in ("missing", "hangup"):
            return "200 result=-1"
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
        timeout = int(args[0])
        event = self._listen(None if timeout < 0 else timeout / 1000, ALL_DIGITS)
        if event is None:
            return "200 result=0"
        return "200 result=-1" if event.hangup else f"200 result={ord(event.dtmf or '0')}"

    def _say(self, seconds: float, digits: str) -> str:
        event = self._listen(seconds, digits)
        if event is None:
            return "200 result=0"
        return "200 result=-1" if event.hangup else f"200 result={ord(event.dtmf or '0')}"

    def say_digits(self, args: list[str]) -> str:
        return self._say(0.6 * len(args[0]), args[1])

    def say_number(self, args: list[str]) -> str:
        return self._say(1.2, args[1])

    def answer(self, args: list[str]) -> str:
        if not self.answered:
            self.answered = True
            self.now += 0.5
        return "200 result=0"

    def hangup(self, args: list[str]) -> str:
        if args and args[0] != self.environment.channel:
            return "200 result=-1"
        self._hang_up("bot")
        return "200 result=1"

    def channel_status(self, args: list[str]) -> str:
        if args and args[0] != self.environment.channel:
            return "200 result=-1"
        return "200 result=6" if self.answered else "200 result=4"

    def set_music(self, args: list[str]) -> str:
        if args[0].upper() == "ON":
            self.moh.append(args[1] if len(args) > 1 else "default")
        return "200 result=0"

    def noop(self, args: list[str]) -> str:
        return "200 result=0"

    def verbose(self, args: list[str]) -> str:
        return "200 result=1"

    # -- variables -------------------------------------------------------------------

    def set_variable(self, args: list[str]) -> str:
        name, value = args[0], args[1]
        if name.upper() == "CHANNEL(LANGUAGE)":
            self.language = value
        self.variables[name.lstrip("_")] = value
        return "200 result=1"

    def get_variable(self, args: list[str]) -> str:
        value = self._variable(args[0])
        return "200 result=0" if value is None else f"200 result=1 ({value})"

    def get_full_variable(self, args: list[str]) -> str:
        return f"200 result=1 ({self.expand(args[0])})"

    def _variable(self, name: str) -> str | None:
        env = self.environment
        functions = {
            "CALLERID(NAME)": env.calleridname,
            "CALLERID(NUM)": "" if env.callerid == "unknown" else env.callerid,
            "CALLERID(ALL)": f'"{env.calleridname}" <{env.callerid}>',
            "CHANNEL": env.channel,
            "CHANNEL(LANGUAGE)": self.language,
            "CHANNEL(STATE)": "Up" if self.answered else "Ring",
            "CONTEXT": env.context,
            "EXTEN": env.extension,
            "PRIORITY": env.priority,
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

    # -- applications ----------------------------------------------------------------

    def exec(self, args: list[str]) -> str:
        app, data = args[0], args[1] if len(args) > 1 else ""
        self.apps.append((app, data))
        runner = _APPS.get(app.lower())
        if runner is None:
            return "200 result=-2"
        if self.hung_up and app.lower() not in ("set", "verbose", "noop", "goto"):
            return "200 result=-1"
        return f"200 result={runner(self, data.split(','))}"

    def app_playback(self, opts: list[str]) -> int:
        for name in opts[0].split("&"):
            outcome, _ = self._play(name, "")
            if outcome == "hangup":
                return -1
            if outcome == "missing":
                return 0
        return 0

    def app_wait(self, opts: list[str]) -> int:
        seconds = float(opts[0] or 0)
        return -1 if self._listen(seconds, "") is not None else 0

    def app_set(self, opts: list[str]) -> int:
        name, _, value = ",".join(opts).partition("=")
        self.variables[name.lstrip("_")] = value
        return 0

    def app_noop(self, opts: list[str]) -> int:
        return 0

    def app_queue(self, opts: list[str]) -> int:
        name = opts[0]
        options = opts[1] if len(opts) > 1 else ""
        timeout = float(opts[4]) if len(opts) > 4 and opts[4] else 300.0
        outcome = self.queues.get(name, "timeout")
        music = re.search(r"m\(([^)]*)\)", options)
        if "r" not in re.sub(r"\([^)]*\)", "", options):
            self.moh.append(music.group(1) if music else self.queue_music.get(name, "default"))
        self.variables.update(ANSWEREDTIME="", DIALEDTIME="")
        self.variables.pop("QUEUESTATUS", None)
        if outcome in ("full", "joinempty"):
            self.variables["QUEUESTATUS"] = outcome.upper()
            return 0
        waited = {"leaveempty": 5.0, "answer": 3.0, "continue": 3.0}.get(outcome, timeout)
        if outcome == "hangup":
            waited = timeout + 1
        if self._listen(min(waited, timeout), "") is not None:
            return -1
        if outcome in ("timeout", "hangup") or waited >= timeout:
            self.variables["QUEUESTATUS"] = "TIMEOUT"
            return 0
        if outcome == "leaveempty":
            self.variables["QUEUESTATUS"] = "LEAVEEMPTY"
            return 0
        return self._talk(f"{name}-agent", continue_after="c" in options, queue=True)

    def _talk(self, member: str, *, continue_after: bool, queue: bool) -> int:
        """Bridged to an agent: the caller may hang up first, else the agent does."""
        self.variables["MEMBERNAME" if queue else "DIALEDPEERNAME"] = member
        start = self.now
        event = self._listen(self.talk_seconds, "")
        self.variables["ANSWEREDTIME"] = str(int(self.now - start))
        if event is not None:
            return -1
        if continue_after:
            if queue:
                self.variables["QUEUESTATUS"] = "CONTINUE"
            return 0
        return -1

    def app_dial(self, opts: list[str]) -> int:
        target = opts[0]
        ring = float(opts[1]) if len(opts) > 1 and opts[1] else 60.0
        options = opts[2] if len(opts) > 2 else ""
        outcome = self.dial.get(target, "NOANSWER")
        waited = {"ANSWER": min(3.0, ring), "NOANSWER": ring}.get(outcome, 0.5)
        if self._listen(waited, "") is not None:
            self.variables["DIALSTATUS"] = "CANCEL"
            return -1
        self.variables["DIALSTATUS"] = "ANSWER" if outcome == "HANGUP" else outcome
        if outcome in ("ANSWER", "HANGUP"):
            return self._talk(target, continue_after="g" in options, queue=False)
        return 0


def _usage(name: str) -> str:
    return f"520-Invalid command syntax.  Proper usage follows:\nUsage: {name} (see the AGI documentation)\n520 End of proper usage."


def _file_length(path: Path) -> float | None:
    """A local prompt plays only without its extension (34), in one of Asterisk's formats."""
    if path.suffix in FORMATS:
        return None
    for ext in FORMATS:
        candidate = path.with_name(path.name + ext)
        if candidate.exists():
            size = candidate.stat().st_size
            return size / _BYTES_PER_SECOND.get(ext, 16000)
    return None


_COMMANDS: dict[str, tuple[Callable[[MemoryAsterisk, list[str]], str], int, int | None]] = {
    "ANSWER": (MemoryAsterisk.answer, 0, None),
    "HANGUP": (MemoryAsterisk.hangup, 0, 1),
    "NOOP": (MemoryAsterisk.noop, 0, None),
    "CHANNEL STATUS": (MemoryAsterisk.channel_status, 0, 1),
    "STREAM FILE": (MemoryAsterisk.stream_file, 2, None),
    "GET OPTION": (MemoryAsterisk.get_option, 2, None),
    "GET DATA": (MemoryAsterisk.get_data, 1, None),
    "WAIT FOR DIGIT": (MemoryAsterisk.wait_for_digit, 1, None),
    "SAY DIGITS": (MemoryAsterisk.say_digits, 2, None),
    "SAY ALPHA": (MemoryAsterisk.say_digits, 2, None),
    "SAY NUMBER": (MemoryAsterisk.say_number, 2, None),
    "SET MUSIC": (MemoryAsterisk.set_music, 1, None),
    "SET VARIABLE": (MemoryAsterisk.set_variable, 2, None),
    "GET VARIABLE": (MemoryAsterisk.get_variable, 1, None),
    "GET FULL VARIABLE": (MemoryAsterisk.get_full_variable, 1, None),
    "VERBOSE": (MemoryAsterisk.verbose, 1, None),
    "EXEC": (MemoryAsterisk.exec, 1, None),
}

_APPS: dict[str, Callable[[MemoryAsterisk, list[str]], int]] = {
    "playback": MemoryAsterisk.app_playback,
    "wait": MemoryAsterisk.app_wait,
    "set": MemoryAsterisk.app_set,
    "noop": MemoryAsterisk.app_noop,
    "verbose": MemoryAsterisk.app_noop,
    "goto": MemoryAsterisk.app_noop,
    "queue": MemoryAsterisk.app_queue,
    "dial": MemoryAsterisk.app_dial,
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
