"""AGI commands as frozen values with one way to become bytes.

Every argument that is not a fixed keyword or a number goes through :func:`quote`,
which is the last line of defence against caller-controlled text: it refuses the
bytes that would end the command line (``\\n``; ``\\r`` and ``\\0``, which Asterisk
keeps inside the argument, 16) instead of cleaning them silently. Flows clean caller
text when they make variables; a refusal here is a bug upstream, raised loudly.

Asterisk splits arguments like a shell without expansion (res_agi ``parse_args``):
blanks separate words, ``"`` toggles quoting, ``\\`` escapes the next character.
Lines are read in pieces of 8191 bytes (17): a longer line would run as a
truncated command plus garbage, so it is refused before sending.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

from agi_callbot.errors import LocalProtocolError

#: Asterisk reads a command line in pieces of this many bytes, newline included
MAX_LINE = 8191
_FORBIDDEN = re.compile(r"[\n\r\0]")
_DIGITS = re.compile(r"^[0-9*#A-Da-d]*$")
_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def quote(value: str) -> str:
    """Quote one argument so Asterisk reads it back as exactly ``value``."""
    if _FORBIDDEN.search(value):
        raise LocalProtocolError(
            f"refusing an AGI argument with a line break or NUL: {value[:40]!r}"
        )
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _escape_digits(value: str) -> str:
    if not _DIGITS.fullmatch(value):
        raise LocalProtocolError(f"escape digits must be 0-9 * # A-D, not {value!r}")
    return quote(value)


def _name(value: str, what: str) -> str:
    if not _NAME.fullmatch(value):
        raise LocalProtocolError(f"not a valid {what}: {value!r}")
    return value


class Wait(Enum):
    """How long a command may take, so the transport can pick its reply deadline."""

    QUICK = "quick"  # answers at once: NOOP, variables, ANSWER…
    MEDIA = "media"  # plays or listens: as long as the prompt and its timeout
    EXEC = "exec"  # a dialplan application: Queue and Dial last as long as the caller waits


@dataclass(frozen=True)
class Command:
    """Base of every command: ``words()`` gives the line, ``to_bytes()`` checks and encodes it."""

    verb: ClassVar[str] = ""
    wait: ClassVar[Wait] = Wait.QUICK

    def words(self) -> list[str]:
        return [self.verb]

    def line(self) -> str:
        return " ".join(self.words())

    def to_bytes(self) -> bytes:
        line = self.line()
        try:
            data = line.encode("utf-8") + b"\n"
        except UnicodeEncodeError:
            # a lone surrogate (text decoded with surrogateescape) has no UTF-8 form
            raise LocalProtocolError(
                f"refusing an AGI command that is not valid Unicode: {line[:40]!r}"
            ) from None
        if len(data) > MAX_LINE:
            raise LocalProtocolError(
                f"{self.verb or line[:20]!r} line is {len(data)} bytes;"
                f" Asterisk reads at most {MAX_LINE}"
            )
        return data

    def __str__(self) -> str:
        return self.line()


@dataclass(frozen=True)
class Answer(Command):
    verb: ClassVar[str] = "ANSWER"


@dataclass(frozen=True)
class HangupChannel(Command):
    """HANGUP: hang up this call's channel (or the one named). Not the
    :class:`~agi_callbot.errors.Hangup` exception, which says the caller is gone."""

    verb: ClassVar[str] = "HANGUP"
    channel: str = ""

    def words(self) -> list[str]:
        return [self.verb, quote(self.channel)] if self.channel else [self.verb]


@dataclass(frozen=True)
class Noop(Command):
    verb: ClassVar[str] = "NOOP"
    text: str = ""

    def words(self) -> list[str]:
        return [self.verb, quote(self.text)] if self.text else [self.verb]


@dataclass(frozen=True)
class ChannelStatus(Command):
    verb: ClassVar[str] = "CHANNEL STATUS"
    channel: str = ""

    def words(self) -> list[str]:
        return [self.verb, quote(self.channel)] if self.channel else [self.verb]


@dataclass(frozen=True)
class StreamFile(Command):
    """Play a file; ``offset`` and the reply's ``endpos`` count samples of the file (36)."""

    verb: ClassVar[str] = "STREAM FILE"
    wait: ClassVar[Wait] = Wait.MEDIA
    file: str
    escape_digits: str = ""
    offset: int = 0

    def words(self) -> list[str]:
        words = [self.verb, quote(self.file), _escape_digits(self.escape_digits)]
        return [*words, str(int(self.offset))] if self.offset else words


@dataclass(frozen=True)
class ControlStreamFile(Command):
    """Play with skip/pause keys; ``endpos`` in the reply is in ms (37)."""

    verb: ClassVar[str] = "CONTROL STREAM FILE"
    wait: ClassVar[Wait] = Wait.MEDIA
    file: str
    escape_digits: str = ""
    skip_ms: int = 3000
    forward: str = "#"
    rewind: str = "*"
    pause: str = ""
    offset_ms: int = 0

    def words(self) -> list[str]:
        words = [self.verb, quote(self.file), _escape_digits(self.escape_digits)]
        words += [str(int(self.skip_ms)), _escape_digits(self.forward)]
        words += [_escape_digits(self.rewind), _escape_digits(self.pause)]
        return [*words, str(int(self.offset_ms))] if self.offset_ms else words


@dataclass(frozen=True)
class GetData(Command):
    """Play a prompt and collect up to ``max_digits``; ``#`` ends input (04)."""

    verb: ClassVar[str] = "GET DATA"
    wait: ClassVar[Wait] = Wait.MEDIA
    file: str
    timeout_ms: int = 5000
    max_digits: int = 1024

    def words(self) -> list[str]:
        return [self.verb, quote(self.file), str(int(self.timeout_ms)), str(int(self.max_digits))]


@dataclass(frozen=True)
class GetOption(Command):
    """STREAM FILE plus a wait for one digit; the timeout is in ms (37)."""

    verb: ClassVar[str] = "GET OPTION"
    wait: ClassVar[Wait] = Wait.MEDIA
    file: str
    escape_digits: str = ""
    timeout_ms: int | None = 5000  # None: Asterisk's default, 5000 ms

    def words(self) -> list[str]:
        words = [self.verb, quote(self.file), _escape_digits(self.escape_digits)]
        return words if self.timeout_ms is None else [*words, str(int(self.timeout_ms))]


@dataclass(frozen=True)
class WaitForDigit(Command):
    """Wait for one DTMF digit; ``-1`` waits for ever (05)."""

    verb: ClassVar[str] = "WAIT FOR DIGIT"
    wait: ClassVar[Wait] = Wait.MEDIA
    timeout_ms: int = -1

    def words(self) -> list[str]:
        return [self.verb, str(int(self.timeout_ms))]


@dataclass(frozen=True)
class _Say(Command):
    wait: ClassVar[Wait] = Wait.MEDIA
    value: str
    escape_digits: str = ""

    def words(self) -> list[str]:
        return [self.verb, quote(self.value), _escape_digits(self.escape_digits)]


@dataclass(frozen=True)
class SayDigits(_Say):
    verb: ClassVar[str] = "SAY DIGITS"


@dataclass(frozen=True)
class SayAlpha(_Say):
    verb: ClassVar[str] = "SAY ALPHA"


@dataclass(frozen=True)
class SayNumber(_Say):
    """``gender`` ``f``/``m``/``n`` picks the form in languages that have one (39)."""

    verb: ClassVar[str] = "SAY NUMBER"
    gender: str = ""

    def words(self) -> list[str]:
        words = super().words()
        return [*words, _name(self.gender, "gender")] if self.gender else words


@dataclass(frozen=True)
class Exec(Command):
    """Run a dialplan application; Asterisk passes only one argument to it, so
    the application's comma-separated options are one quoted word (08)."""

    verb: ClassVar[str] = "EXEC"
    wait: ClassVar[Wait] = Wait.EXEC
    app: str
    data: str = ""

    def words(self) -> list[str]:
        return [self.verb, _name(self.app, "application name"), quote(self.data)]


@dataclass(frozen=True)
class SetVariable(Command):
    verb: ClassVar[str] = "SET VARIABLE"
    name: str
    value: str

    def words(self) -> list[str]:
        return [self.verb, quote(self.name), quote(self.value)]


@dataclass(frozen=True)
class GetVariable(Command):
    verb: ClassVar[str] = "GET VARIABLE"
    name: str

    def words(self) -> list[str]:
        return [self.verb, quote(self.name)]


@dataclass(frozen=True)
class GetFullVariable(Command):
    """Evaluate an expression such as ``${CALLERID(name)}`` on the channel (07)."""

    verb: ClassVar[str] = "GET FULL VARIABLE"
    expression: str
    channel: str = ""

    def words(self) -> list[str]:
        words = [self.verb, quote(self.expression)]
        return [*words, quote(self.channel)] if self.channel else words


@dataclass(frozen=True)
class SetMusic(Command):
    """Music on hold on/off; an unknown class silently plays ``default`` (14)."""

    verb: ClassVar[str] = "SET MUSIC"
    on: bool = True
    music_class: str = ""

    def words(self) -> list[str]:
        words = [self.verb, "ON" if self.on else "OFF"]
        return [*words, quote(self.music_class)] if self.music_class else words


@dataclass(frozen=True)
class Verbose(Command):
    verb: ClassVar[str] = "VERBOSE"
    message: str
    level: int = 1

    def words(self) -> list[str]:
        return [self.verb, quote(self.message), str(int(self.level))]


@dataclass(frozen=True)
class Raw(Command):
    """A line sent as it is (tests, transcript replays, a command this module lacks).

    Still checked: no line break, CR or NUL, not empty, within Asterisk's read size.
    """

    text: str
    wait_kind: Wait = Wait.MEDIA

    def words(self) -> list[str]:
        if not self.text.strip():
            raise LocalProtocolError("refusing an empty AGI command line")
        if _FORBIDDEN.search(self.text):
            raise LocalProtocolError(
                f"refusing a command with a line break or NUL: {self.text[:40]!r}"
            )
        return [self.text]

    @property
    def verb_text(self) -> str:
        return self.text.split(" ", 1)[0].upper()


def command_wait(command: Command) -> Wait:
    return command.wait_kind if isinstance(command, Raw) else command.wait


def parse_args(line: str) -> list[str]:
    """Split a command line the way Asterisk does (res_agi ``parse_args``).

    Blanks separate words, ``"`` toggles quoting (an empty ``""`` is a word), ``\\``
    makes the next character literal. Used to check that what we build reads back
    as meant, and by the in-memory Asterisk.
    """
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


def _int(word: str) -> int:
    if not word.lstrip("-").isdigit():
        raise ValueError(word)
    return int(word)


#: command words → builder from the arguments; a builder may raise to mean "not typed"
_PARSERS: dict[str, Callable[[list[str]], Command]] = {
    "ANSWER": lambda a: Answer(),
    "HANGUP": lambda a: HangupChannel(*a),
    "NOOP": lambda a: Noop(*a),
    "CHANNEL STATUS": lambda a: ChannelStatus(*a),
    "STREAM FILE": lambda a: StreamFile(a[0], a[1], *map(_int, a[2:])),
    "GET DATA": lambda a: GetData(a[0], *map(_int, a[1:])),
    "GET OPTION": lambda a: GetOption(a[0], a[1], *map(_int, a[2:])),
    "WAIT FOR DIGIT": lambda a: WaitForDigit(*map(_int, a)),
    "SAY DIGITS": lambda a: SayDigits(*a),
    "SAY ALPHA": lambda a: SayAlpha(*a),
    "SAY NUMBER": lambda a: SayNumber(*a),
    "EXEC": lambda a: Exec(*a),
    "SET VARIABLE": lambda a: SetVariable(*a),
    "GET VARIABLE": lambda a: GetVariable(*a),
    "GET FULL VARIABLE": lambda a: GetFullVariable(*a),
    "SET MUSIC": lambda a: (
        SetMusic(a[0].upper() == "ON", *a[1:]) if a[0].upper() in ("ON", "OFF") else Raw("")
    ),
    "VERBOSE": lambda a: Verbose(a[0], *map(_int, a[1:])),
}


def parse_command(line: str) -> Command:
    """The typed command for a line a server sent, or :class:`Raw` when no typed one
    reads back the same way (extra arguments, odd spacing, an unknown command).

    Refuses what must never be sent: an empty line, CR/LF/NUL, a line over 8191 bytes.
    """
    raw = Raw(line)
    raw.to_bytes()
    words = parse_args(line)
    for size in (3, 2, 1):
        builder = _PARSERS.get(" ".join(w.upper() for w in words[:size]))
        if builder is None:
            continue
        try:
            command = builder(words[size:])
            if parse_args(command.line()) == words:
                return command
        except (TypeError, ValueError, IndexError, LocalProtocolError):
            pass
        break
    return raw
