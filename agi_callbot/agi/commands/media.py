"""Commands that play or listen: stream a file, say digits or numbers, collect DTMF.
Each may last as long as its prompt and timeout (:attr:`Wait.MEDIA`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from agi_callbot.agi.commands.line import Command, Wait, checked_name, escape_digits, quote


@dataclass(frozen=True)
class _Interruptible(Command):
    """A file played until one of ``escape_digits`` is pressed: the first three words of
    STREAM FILE, CONTROL STREAM FILE and GET OPTION."""

    wait: ClassVar[Wait] = Wait.MEDIA
    file: str
    escape_digits: str = ""

    def words(self) -> list[str]:
        return [self.verb, quote(self.file), escape_digits(self.escape_digits)]


@dataclass(frozen=True)
class StreamFile(_Interruptible):
    """Play a file; ``offset`` and the reply's ``endpos`` count samples of the file (36)."""

    verb: ClassVar[str] = "STREAM FILE"
    offset: int = 0

    def words(self) -> list[str]:
        words = super().words()
        return [*words, str(int(self.offset))] if self.offset else words


@dataclass(frozen=True)
class ControlStreamFile(_Interruptible):
    """Play with skip/pause keys; ``endpos`` in the reply is in ms (37)."""

    verb: ClassVar[str] = "CONTROL STREAM FILE"
    skip_ms: int = 3000
    forward: str = "#"
    rewind: str = "*"
    pause: str = ""
    offset_ms: int = 0

    def words(self) -> list[str]:
        words = super().words()
        words += [str(int(self.skip_ms)), escape_digits(self.forward)]
        words += [escape_digits(self.rewind), escape_digits(self.pause)]
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
class GetOption(_Interruptible):
    """STREAM FILE plus a wait for one digit; the timeout is in ms (37)."""

    verb: ClassVar[str] = "GET OPTION"
    timeout_ms: int | None = 5000  # None: Asterisk's default, 5000 ms

    def words(self) -> list[str]:
        words = super().words()
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
        return [self.verb, quote(self.value), escape_digits(self.escape_digits)]


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
        return [*words, checked_name(self.gender, "gender")] if self.gender else words
