"""One AGI command line: quoting, the :class:`Command` base and its checks,
:class:`Raw`, and Asterisk's own word splitting (res_agi ``parse_args``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

from agi_callbot.errors import LocalProtocolError

#: Asterisk reads a command line in pieces of this many bytes, newline included
MAX_LINE = 8191
_FORBIDDEN = re.compile(r"[\n\r\0]")
#: what an escape-digits argument may hold
_DIGITS = re.compile(r"^[0-9*#A-Da-d]*$")
_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def quote(value: str) -> str:
    """Quote one argument so Asterisk reads it back as exactly ``value``."""
    if _FORBIDDEN.search(value):
        raise LocalProtocolError(
            f"refusing an AGI argument with a line break or NUL: {value[:40]!r}"
        )
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def escape_digits(value: str) -> str:
    """The quoted escape-digits argument (0-9 * # A-D), or a refusal."""
    if not _DIGITS.fullmatch(value):
        raise LocalProtocolError(f"escape digits must be 0-9 * # A-D, not {value!r}")
    return quote(value)


def checked_name(value: str, what: str) -> str:
    """A bare word (application name, gender) sent as it is: letters, digits, ``_``."""
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
