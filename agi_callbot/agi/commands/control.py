"""Commands on the call's channel: answer, hang up, status, variables, dialplan
applications (``EXEC``), music on hold, verbose messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from agi_callbot.agi.commands.line import Command, Wait, checked_name, quote


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
class Exec(Command):
    """Run a dialplan application; Asterisk passes only one argument to it, so
    the application's comma-separated options are one quoted word (08)."""

    verb: ClassVar[str] = "EXEC"
    wait: ClassVar[Wait] = Wait.EXEC
    app: str
    data: str = ""

    def words(self) -> list[str]:
        return [self.verb, checked_name(self.app, "application name"), quote(self.data)]


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
