"""The typed command for a line a server sent: what the in-memory Asterisk and the
transcript replays read; :class:`Raw` when no typed command reads back the same."""

from __future__ import annotations

from collections.abc import Callable

from agi_callbot.agi.commands import control, media
from agi_callbot.agi.commands.line import Command, Raw, parse_args
from agi_callbot.errors import LocalProtocolError


def _int(word: str) -> int:
    if not word.lstrip("-").isdigit():
        raise ValueError(word)
    return int(word)


#: command words → builder from the arguments; a builder may raise to mean "not typed"
_PARSERS: dict[str, Callable[[list[str]], Command]] = {
    "ANSWER": lambda a: control.Answer(),
    "HANGUP": lambda a: control.HangupChannel(*a),
    "NOOP": lambda a: control.Noop(*a),
    "CHANNEL STATUS": lambda a: control.ChannelStatus(*a),
    "STREAM FILE": lambda a: media.StreamFile(a[0], a[1], *map(_int, a[2:])),
    "GET DATA": lambda a: media.GetData(a[0], *map(_int, a[1:])),
    "GET OPTION": lambda a: media.GetOption(a[0], a[1], *map(_int, a[2:])),
    "WAIT FOR DIGIT": lambda a: media.WaitForDigit(*map(_int, a)),
    "SAY DIGITS": lambda a: media.SayDigits(*a),
    "SAY ALPHA": lambda a: media.SayAlpha(*a),
    "SAY NUMBER": lambda a: media.SayNumber(*a),
    "EXEC": lambda a: control.Exec(*a),
    "SET VARIABLE": lambda a: control.SetVariable(*a),
    "GET VARIABLE": lambda a: control.GetVariable(*a),
    "GET FULL VARIABLE": lambda a: control.GetFullVariable(*a),
    "SET MUSIC": lambda a: (
        control.SetMusic(a[0].upper() == "ON", *a[1:]) if a[0].upper() in ("ON", "OFF") else Raw("")
    ),
    "VERBOSE": lambda a: control.Verbose(a[0], *map(_int, a[1:])),
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
