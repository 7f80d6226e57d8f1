"""Replay 2 of 2: every transcript against the in-memory Asterisk.

A :class:`MemoryAsterisk` is configured from the transcript (script, caller ID and
name, language, prompt lengths and files, what the HTTP servers served, queue and
dial outcomes, AGISIGHUP / AGIEXITONHANGUP), its caller is the transcript's
``[driver]`` DTMF and hangups at their recorded times, and "server idle for N s"
advances its virtual clock (as does a command's logged start, by the lab's own
20-70 ms of overhead). Each ``>>`` line is written to it as it was to the real
Asterisk, and what it answers must be the ``<<`` lines that followed, run-dependent
values aside:

- the ``endpos`` of an interrupted playback (one 20 ms frame, and the DTMF edge)
  within 400 samples (50 ms for CONTROL STREAM FILE, which counts in ms);
- a 520 block: its first and last line (the body is Asterisk's own documentation);
- how long it took: within 0.15 s of the recorded "(reply after N s)".

Per call, what AMI saw until AGI() returned must match too: the status variables
(PLAYBACKSTATUS, QUEUESTATUS, DIALSTATUS, ANSWEREDTIME/DIALEDTIME within a second,
the CALLBOT_* the server set), the hold-music classes started, and the AGISTATUS
AGI() left for the dialplan.

Where it does not model Asterisk, :data:`NOT_MODELLED` says so with the reason (the
same list is in the module docstring of ``agi_callbot/sim/asterisk.py``). A
listed item must still differ: once the model learns it, the entry goes.
"""

from __future__ import annotations

import re
import wave
from ast import literal_eval
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from agi_callbot.agi.commands import parse_args
from agi_callbot.sim import asterisk
from agi_callbot.sim.asterisk import MemoryAsterisk
from agi_callbot.sim.caller import Caller, CallerEvent
from agi_callbot.sim.media import Served
from agi_callbot.sim.setup import AsteriskSetup, QueueSetup
from agi_callbot.sim.transcript import Entry, Transcript, load_all

TRANSCRIPTS = Path(__file__).resolve().parents[1] / "transcripts"
ALL = {t.name: t for t in load_all(TRANSCRIPTS)}

#: what the in-memory Asterisk does not model: a transcript, (transcript, server line) for
#: the reply to that line, or (transcript, "[ami] VarSet" / "[ami] MusicOnHoldStart")
#: for the per-call checks. Keep in step with sim/asterisk.py's docstring.
NOT_MODELLED: dict[str | tuple[str, str], str] = {
    "25-connection-refused": "no FastAGI connection at all: nothing to replay",
}

#: prompt lengths in seconds at 8 kHz (README of tests/transcripts, and 03/39's endpos)
SOUNDS = {
    "callbot-e2e/welcome": 2.0,
    "callbot-e2e/menu": 3.0,
    "callbot-e2e/goodbye": 0.5,
    "callbot-e2e/agent-hello": 1.0,
    "callbot-e2e/long": 10.0,
    "digits/5": 6561 / 8000,
    "activated": 8512 / 8000,
}
MISSING = {"callbot-e2e/does-not-exist", "callbot-e2e/nothere"}
#: queue and dial outcomes of the recording lab (tests/transcripts/README.md)
QUEUES = {
    "sales": "answer",
    "support": "answer",
    "nobody": "timeout",
    "annq": "timeout",
    "annq-first": "timeout",
    "q-ventas": "timeout",
    "q-plain": "timeout",
}
DIAL = {
    "Local/busy@callbot-agents": "BUSY",
    "Local/noanswer@callbot-agents": "NOANSWER",
    "Local/echo@callbot-agents": "ANSWER",
}
#: hold-music classes of the lab, and the queue with its own class (41)
MOH_CLASSES = {"default", "alt", "ventas"}
QUEUE_MUSIC = {"q-ventas": "ventas"}
#: the recordings write their 4-digit ports as placeholders; URL lengths matter (40)
PORTS = {b"<port>": b"8080", b"<closed-port>": b"8081"}
#: what the lab's HTTP servers answered (the headers of 34, 35 and 40; 42's notes)
WEB = "http://127.0.0.1:8080/"
HOLA = Served("wav", 1.5, "audio/x-wav")
SERVED_34 = {
    WEB + "hola.wav": HOLA,
    WEB + "nothere.wav": Served(status=404),
    WEB + "hola": Served("wav", 1.5, "application/octet-stream"),
}
SERVED_35 = {
    WEB + "cc-hola.wav": Served("wav", 1.5, "audio/wav"),
    WEB + "et-hola.wav": Served("wav", 1.5, "audio/wav"),
    WEB + "typed-noext": Served("wav", 1.5, "audio/wav"),
    WEB + "typed-q.wav?v=1": HOLA,
}
SERVED_40 = {
    WEB + "hola.wav": HOLA,
    WEB + "hola.wav?": HOLA,
    WEB + "hola.wav?v": HOLA,
    WEB + "prompts/hola.wav": HOLA,
    WEB + "prompts/nothere.wav": Served(status=404),
    WEB + "prompts/hola": Served("wav", 1.5, "application/octet-stream"),
    WEB + "slow/prompts/hola.wav": Served("wav", 1.5, "audio/x-wav", delay=2.0),
    "http://127.0.0.1:8081/prompts/hola.wav": Served(status=None),
    WEB + "prompts/hola.sln16": Served("sln16", 1.0, "application/octet-stream"),
    WEB + "prompts/hola16k.wav": Served("wav16", 1.0, "audio/x-wav"),
    WEB + "prompts/hola16k.wav16": Served("wav16", 1.0, "application/octet-stream"),
    WEB + "ctype16/prompts/hola16k.wav": Served(
        "wav16", 1.0, "audio/x-wav;codec=pcm;bit=16;rate=16000"
    ),
}
_SERVED_AS = re.compile(r"^\((\S+) served as (?:Content-Type: (.+)|no Content-Type header)\)$")
_TONE = re.compile(r"tone(?:\d+k)?-(\d+)ms(?:\.(\w+)|-noext)$")


def served_42(transcript: Transcript) -> dict[str, Served]:
    """42 names, before each STREAM FILE, the file and the Content-Type it was served with."""
    served: dict[str, Served] = {}
    pending: Served | None = None
    for entry in transcript.entries:
        if entry.kind == "note" and (match := _SERVED_AS.match(entry.text)):
            tone = _TONE.match(match.group(1))
            assert tone, entry.text
            kind = tone.group(2) or "sln16"  # the extension-less copy of the 16 kHz tone
            pending = Served(kind, int(tone.group(1)) / 1000, match.group(2))
        elif entry.kind == "server" and pending is not None:
            served[parse_args(entry.data.decode())[2]] = pending
            pending = None
    return served


#: 39's stock prompts: seconds between its "Playing" log lines
ES_DIGITS = {
    "thousand": 0.72, "200": 1.22, "30": 0.80, "and": 0.38, "4": 0.88, "6": 0.82, "0": 0.90,
    "1": 0.70, "1F": 0.66, "21": 1.32, "100-and": 0.84, "15": 0.90, "2": 0.70, "millions": 1.06,
}  # fmt: skip
EN_DIGITS = {
    "15": 1.15, "1": 0.90, "thousand": 0.90, "2": 0.74, "hundred": 0.85, "30": 0.90, "4": 0.81
}  # fmt: skip
#: per transcript: what its dialplan or lab did differently. The agents of 09/10/13
#: answer after CALLBOT_AGENT_RING s and hang up CALLBOT_AGENT_TALK + 1.5 s later
#: (their prompt and echo), as the AMI events show.
SETUP: dict[str, dict[str, Any]] = {
    "09-queue-sales": {"ring_seconds": 3.0, "talk_seconds": 4.5},
    "10-queue-sales-continue": {"ring_seconds": 2.0, "talk_seconds": 3.5},
    "13-exec-dial": {"talk_seconds": 3.5},
    "21-agisighup-no": {"agisighup": False},
    "22-agiexitonhangup": {"exit_on_hangup": True},
    # 39: stock prompt lengths from its log; the es pack has no digits/100, no es_MX
    "39-say-spanish": {
        "prompt_languages": {"en", "es"},
        "missing_sounds": MISSING | {"digits/100"},
        "sounds": {
            **SOUNDS,
            **{f"es/digits/{name}": seconds for name, seconds in ES_DIGITS.items()},
            **{f"en/digits/{name}": seconds for name, seconds in EN_DIGITS.items()},
        },
    },
    # 38's queues.conf: announce-position, periodic announcements, and for annq-first
    # announce-to-first-user (the member never answers)
    "38-queue-announcements": {
        "queues": {
            **QUEUES,
            "annq": QueueSetup("timeout", announce_position=True, periodic=True),
            "annq-first": QueueSetup(
                "timeout", announce_position=True, announce_to_first_user=True, periodic=True
            ),
        }
    },
    # 34's media cache path was 2 characters shorter than 40's 37 (40's header)
    "34-prompt-files-and-urls": {"urls": SERVED_34, "media_cache_path": 35},
    "35-prompt-urls-cache-headers": {"urls": SERVED_35, "media_cache_path": 35},
    "40-prompt-url-edge-cases": {"urls": SERVED_40, "media_cache_path": 37},
}
_OTHER_CALLER = re.compile(r"^AMI Originate of the other caller .*-> Queue\(([\w-]+),")
_DTMF = re.compile(r"^caller presses DTMF '(.)'")
_IDLE = re.compile(r"^\((?:server idle for|no EOF from Asterisk within) (\d+(?:\.\d+)?) s")
_TOOK = re.compile(r"^\(reply after (\d+(?:\.\d+)?) s\)")
#: how far the modelled duration of a command may be from the recorded one
TIME_SLACK = 0.15
#: at most this much of a command's logged start is the lab's own overhead (20-70 ms
#: per command); a later start means the command itself waited (40's slow server)
MAX_OVERHEAD = 0.5
#: when a command really started: Asterisk logged its playback, or AMI its start (33)
_STARTED = re.compile(r"^\+(\d+(?:\.\d+)?)s \[log\] .*Playing '")
_ENDPOS = re.compile(rb"^200 result=(-?\d*) endpos=(-?\d+)$")


@dataclass
class Segment:
    """Server lines written together and the Asterisk lines that followed them."""

    sent: list[bytes] = field(default_factory=list)
    expected: list[bytes] = field(default_factory=list)
    actual: bytearray = field(default_factory=bytearray)
    #: virtual times of the write and of the first reply, and the recorded duration
    sent_at: float | None = None
    replied_at: float | None = None
    recorded: float = 0.0
    timed: bool = True

    @property
    def key(self) -> str:
        return self.sent[0].decode("utf-8", errors="replace") if self.sent else "(env)"


def caller_of(transcript: Transcript) -> Caller:
    events = []
    for entry in transcript.entries:
        if entry.kind != "driver" or entry.at is None:
            continue
        if match := _DTMF.match(entry.text):
            events.append(CallerEvent(entry.at, match.group(1)))
        elif entry.text.startswith("caller hangs up"):
            events.append(CallerEvent(entry.at, None))
    return Caller(events=events)


def environment_of(transcript: Transcript) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in transcript.wire("asterisk"):
        if not line:
            break
        key, _, value = line.decode("utf-8").partition(": ")
        env[key[4:]] = value
    return env


def asterisk_for(transcript: Transcript) -> MemoryAsterisk:
    env = environment_of(transcript)
    args = tuple(v for k, v in env.items() if k.startswith("arg_"))
    name = env.get("calleridname", "")
    header = transcript.header_value("CALLERID(name) then set by the dialplan to ")
    if header:  # 27: the real name holds a newline that injected a line
        name = literal_eval(header.rsplit(" (Python repr)", 1)[0])
    options: dict[str, Any] = {
        "script": env["network_script"],
        "args": args,
        "callerid": "" if env["callerid"] == "unknown" else env["callerid"],
        "calleridname": name,
        "language": env["language"],
        "caller": caller_of(transcript),
        "sounds": SOUNDS,
        "missing_sounds": MISSING,
        "queues": QUEUES,
        "dial": DIAL,
        "moh_classes": MOH_CLASSES,
        "queue_music": QUEUE_MUSIC,
        "env": {k: v for k, v in env.items() if not k.startswith("arg_") and k != "injected"},
    }
    if header:
        del options["env"]["calleridname"]
    options.update(SETUP.get(transcript.name, {}))
    if transcript.name == "42-prompt-url-formats":
        options["urls"] = served_42(transcript)
    return MemoryAsterisk(AsteriskSetup(**options))


def run(transcript: Transcript, files: Path) -> tuple[MemoryAsterisk, list[Segment], bytes]:
    """Drive the in-memory Asterisk with the transcript; its env block and the segments.

    The server reads when the transcript shows a ``<<`` line or an idle wait; what it
    never read (24: it closed mid-command) is not compared.
    """
    ast = asterisk_for(transcript)
    env_block = ast.env_block()
    segments: list[Segment] = [Segment()]
    in_env = True
    entries = transcript.entries
    for index, entry in enumerate(entries):
        current = segments[-1]
        if entry.kind == "asterisk":
            if in_env:
                in_env = entry.data != b""
                continue
            current.expected.append(entry.data)
            current.actual += ast.take_output()
            if current.replied_at is None:
                current.replied_at = ast.world
        elif entry.kind == "server":
            if current.expected or not current.sent:
                segments.append(current := Segment())
            else:
                current.timed = False  # written back to back
            current.sent.append(entry.data)
            started = _start_time(entries[index + 1 :])
            if started is not None and 0 < started - ast.world <= MAX_OVERHEAD:
                ast.advance(started - ast.world)  # the real server and Asterisk took this long
            current.sent_at = ast.world if current.sent_at is None else current.sent_at
            line = entry.data.replace(b"<abs>", str(files).encode())
            for placeholder, port in PORTS.items():
                line = line.replace(placeholder, port)
            ast.receive(line + b"\n")
        elif entry.kind == "note" and (took := _TOOK.match(entry.text)):
            current.recorded = float(took.group(1))
        elif entry.kind == "note" and (idle := _IDLE.match(entry.text)):
            current.timed = current.timed and current.replied_at is not None
            ast.advance(float(idle.group(1)))
            current.actual += ast.take_output(wait=False)
        elif entry.kind == "note" and "Asterisk closed the connection" in entry.text:
            current.actual += ast.take_output(wait=False)
            assert ast.eof, "the transcript shows Asterisk closing the connection"
        elif entry.kind == "driver" and (other := _OTHER_CALLER.match(entry.text)):
            queue = other.group(1)  # 38: another caller waits ahead in that queue
            ast.setup.queues[queue] = replace(ast.setup.queue(queue), waiting=1)
        elif entry.kind == "note" and "[cli] moh reload" in entry.text:
            ast.setup.prefer_channel_class = not ast.setup.prefer_channel_class  # 41's two reloads
    if segments[-1].expected:  # nothing more may be due after the last recorded reply
        segments[-1].actual += ast.take_output(wait=False)
    return ast, [s for s in segments if s.sent or s.expected or s.actual], env_block


def _start_time(following: list[Entry]) -> float | None:
    """The recorded start of the command just written, if Asterisk logged it."""
    for entry in following:
        if entry.kind in ("server", "asterisk"):
            return None
        if entry.kind == "ami" and entry.text.startswith("AGIExecStart") and entry.at:
            return entry.at
        if entry.kind == "note" and (match := _STARTED.match(entry.text)):
            return float(match.group(1))
    return None


def differences(segment: Segment) -> list[str]:
    """Why the in-memory replies differ from the recorded ones (empty: they agree)."""
    problems = _replies(segment)
    if segment.timed and segment.sent_at is not None and segment.replied_at is not None:
        took = segment.replied_at - segment.sent_at
        if abs(took - segment.recorded) > TIME_SLACK:
            problems.append(f"answered after {took:.2f} s instead of {segment.recorded:.2f} s")
    return problems


def _replies(segment: Segment) -> list[str]:
    actual = bytes(segment.actual).split(b"\n")
    if actual[-1] != b"":
        return [f"output does not end with a newline: {actual[-1][:60]!r}"]
    actual = _blocks(actual[:-1])
    expected = _blocks(segment.expected)
    if len(actual) != len(expected):
        return [f"{len(actual)} replies instead of {len(expected)}: {actual} vs {expected}"]
    control = segment.key.upper().startswith("CONTROL STREAM FILE")
    offset = "CPLAYBACKOFFSET" in segment.key  # echoes CONTROL STREAM FILE's endpos
    return [
        f"{got!r} instead of {want!r}"
        for got, want in zip(actual, expected, strict=True)
        if not (_same(got, want, slack=50 if control else 400) or (offset and _near(got, want, 50)))
    ]


def _blocks(lines: list[bytes]) -> list[bytes]:
    """One item per reply: a 520 block becomes its first and last line."""
    out: list[bytes] = []
    usage = False
    for line in lines:
        if usage:
            if line.startswith(b"520 "):
                out[-1] += b" ... " + line
                usage = False
            continue
        out.append(line)
        usage = line.startswith(b"520-")
    return out


def _same(got: bytes, want: bytes, *, slack: int) -> bool:
    if got == want:
        return True
    a, b = _ENDPOS.match(got), _ENDPOS.match(want)
    interrupted = b is not None and b.group(1) != b"0"
    return bool(
        a
        and b
        and interrupted
        and a.group(1) == b.group(1)
        and abs(int(a.group(2)) - int(b.group(2))) <= slack
    )


_VARSET = re.compile(r"^VarSet Channel=(\S+) ([^=]+)=(.*)$")
_MOH_START = re.compile(r"^MusicOnHoldStart Channel=(\S+) Class=(\S+)")
#: variables the AGI session leaves that the recording shows (AMI VarSet)
_WATCHED = re.compile(
    r"^(PLAYBACKSTATUS|QUEUESTATUS|DIALSTATUS|ANSWEREDTIME|DIALEDTIME|CALLBOT_(?!AGISTATUS|H_).*)$"
)
_AMI_RUN = re.compile(r"(.)\1*\[\.\.\.(\d+) x '(.)' in total\.\.\.\]")


def call_differences(transcript: Transcript, ast: MemoryAsterisk, files: Path) -> list[str]:
    """The call as AMI saw it until AGI() returned: variables set, hold music classes, the
    AGISTATUS AGI() left, and the prompts Asterisk's log says it played. Keys
    ``[ami] VarSet``, ``[ami] MusicOnHoldStart``, ``[ami] AGISTATUS`` and
    ``[log] Playing`` in :data:`NOT_MODELLED`."""
    channel = ast.environment.channel
    variables: dict[str, str] = {}
    classes: list[str] = []
    problems: list[str] = []
    for entry in transcript.entries:
        if entry.kind != "ami":
            continue
        text = _AMI_RUN.sub(lambda m: m.group(3) * int(m.group(2)), entry.text)
        if (var := _VARSET.match(text)) and var.group(1) == channel:
            if var.group(2) == "AGISTATUS":
                if ast.agistatus != var.group(3):
                    problems.append(f"[ami] AGISTATUS: {ast.agistatus}, recorded {var.group(3)}")
                break  # AGI() returned: the rest is the dialplan's
            if _WATCHED.match(var.group(2)):
                variables[var.group(2)] = _ami_unescape(var.group(3))
        elif (moh := _MOH_START.match(text)) and moh.group(1) == channel:
            classes.append(moh.group(2))
    problems += [
        f"[ami] VarSet: {key}={ast.variables.get(key)!r}, recorded {value!r}"
        for key, value in variables.items()
        if not _same_value(key, ast.variables.get(key), value)
    ]
    if classes != ast.moh:
        problems.append(f"[ami] MusicOnHoldStart: {ast.moh}, recorded {classes}")
    played = played_by_log(transcript, channel)
    if played is not None and played != [_unplace(name, files) for name in ast.played]:
        problems.append(f"[log] Playing: {ast.played}, recorded {played}")
    return problems


_PLAYING = re.compile(r"^\+[\d.]+s \[log\] (?:<([^>]+)> )?Playing '([^']+)'(.*)$")
#: the channel's write format Asterisk names after the file (36), not the file's own
_CODEC = re.compile(r"\.(?:slin|slin16|gsm|ulaw|alaw|g722)$")


def played_by_log(transcript: Transcript, channel: str) -> list[str] | None:
    """The prompts Asterisk's log says this call played, in order; None without a log."""
    notes = [e.text for e in transcript.entries if e.kind == "note" and "[log]" in e.text]
    if not notes:
        return None
    played = []
    for text in notes:
        match = _PLAYING.match(text)
        if match and match.group(1) in (None, channel):
            name = match.group(2)
            # GET OPTION logs the name as given ("(timeout N)"); the others add the codec
            played.append(name if "(timeout " in match.group(3) else _CODEC.sub("", name))
    return played


def _unplace(name: str, files: Path) -> str:
    """A name the in-memory Asterisk played, written back as the transcript shows it."""
    name = name.replace(str(files), "<abs>")
    for placeholder, port in PORTS.items():
        name = name.replace(port.decode(), placeholder.decode())
    return name


def _same_value(key: str, got: str | None, want: str) -> bool:
    """Durations in whole seconds may round either way (Asterisk subtracts time())."""
    if key.endswith("TIME") and got and want and got.isdigit() and want.isdigit():
        return abs(int(got) - int(want)) <= 1
    return got == want


def _ami_unescape(value: str) -> str:
    """AMI C-escapes VarSet values: ``\\"``, ``\\\\``, ``\\?``, ``\\r``."""
    return re.sub(r"\\(.)", lambda m: {"r": "\r", "n": "\n", "t": "\t"}.get(m[1], m[1]), value)


def _near(got: bytes, want: bytes, slack: int) -> bool:
    """Equal but for numbers at most ``slack`` apart."""
    split = re.compile(rb"(-?\d+)")
    a, b = split.split(got), split.split(want)
    return len(a) == len(b) and all(
        x == y or (i % 2 == 1 and abs(int(x) - int(y)) <= slack)
        for i, (x, y) in enumerate(zip(a, b, strict=True))
    )


def _wire_env(transcript: Transcript) -> bytes:
    lines = []
    for line in transcript.wire("asterisk"):
        lines.append(line + b"\n")
        if not line:
            break
    return b"".join(lines)


def make_prompt_files(folder: Path) -> Path:
    """The ``<abs>/`` prompts of 34, 36 and 37, made as their headers describe them."""
    raw = {
        "hola.sln": 1.5 * 16000,
        "only16.sln16": 32000,
        "onlyulaw.ulaw": 8000,
        "o8.sln": 16000,
        "o16.sln16": 32000,
        "oul.ulaw": 8000,
        "mix1.sln": 16000,
        "mix1.sln16": 1.5 * 32000,
        "mix2.sln16": 1.5 * 32000,
        "mix2.ulaw": 2 * 8000,
        "mix3.ulaw": 2 * 8000,
        "mix4.gsm": 1650,
        "l16.sln16": 2 * 32000,
    }
    for name, size in raw.items():
        (folder / name).write_bytes(bytes(int(size)))
    wavs = {  # name: (rate, channels, seconds)
        "ow16.wav16": (16000, 1, 1.0),
        "w16.wav": (16000, 1, 1.0),
        "w22.wav": (22050, 1, 1.0),
        "wst.wav": (8000, 2, 1.0),
        "mix3.wav": (8000, 1, 0.5),
        "mix4.wav": (8000, 1, 0.5),
    }
    for name, (rate, channels, seconds) in wavs.items():
        with wave.open(str(folder / name), "wb") as out:
            out.setnchannels(channels)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes(bytes(int(rate * seconds) * 2 * channels))
    return folder


@pytest.fixture(scope="module")
def prompt_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_prompt_files(tmp_path_factory.mktemp("abs"))


def unexpected(name: str, files: Path) -> list[str]:
    """Every way the in-memory Asterisk differs from transcript ``name`` that
    :data:`NOT_MODELLED` does not list, and every listed item it models now."""
    transcript = ALL[name]
    if not transcript.wire("asterisk"):
        return [] if name in NOT_MODELLED else [f"{name}: no connection, yet not listed"]
    ast, segments, env_block = run(transcript, files)
    report = call_differences(transcript, ast, files)
    if env_block != _wire_env(transcript):
        report.append(f"env block {env_block!r}")
    if name in NOT_MODELLED:
        return [] if report or any(map(differences, segments)) else [f"{name}: modelled now"]
    differing: set[str] = {problem.split(":", 1)[0] for problem in report}
    for segment in segments:
        problems = differences(segment)
        if problems:
            differing.add(segment.key)
            if (name, segment.key) not in NOT_MODELLED:
                report.append(f"{segment.key!r}: " + "; ".join(problems))
    report = [r for r in report if (name, r.split(":", 1)[0]) not in NOT_MODELLED]
    for key in NOT_MODELLED:
        if isinstance(key, tuple) and key[0] == name and key[1] not in differing:
            report.append(f"{key[1]!r}: modelled now, remove it from NOT_MODELLED")
    return report


@pytest.mark.parametrize("name", sorted(ALL))
def test_memory_replay(name: str, prompt_files: Path) -> None:
    report = unexpected(name, prompt_files)
    assert not report, "\n".join(report)


def test_memory_docstring_lists_the_same_transcripts() -> None:
    doc = asterisk.__doc__ or ""
    section = doc[doc.index("NOT MODELLED") : doc.index("Compared loosely")]
    bullets = re.findall(r"^- \(([\d, ]+)\)", section, re.MULTILINE)
    listed = {int(n) for bullet in bullets for n in bullet.split(",")}
    keys = {(k if isinstance(k, str) else k[0]) for k in NOT_MODELLED}
    assert listed == {int(name[:2]) for name in keys}


def test_not_modelled_names_real_lines() -> None:
    for key in NOT_MODELLED:
        name, line = key if isinstance(key, tuple) else (key, None)
        assert name in ALL, name
        if line is not None and not line.startswith("[ami] "):
            assert line.encode() in ALL[name].wire("server"), key
