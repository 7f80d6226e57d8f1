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

By family: :mod:`.line` (quoting, the :class:`Command` base, :class:`Raw`, Asterisk's
word splitting), :mod:`.control` (the channel: answer, hang up, variables, dialplan
applications, music), :mod:`.media` (play, say, listen for digits) and :mod:`.parse`
(the typed command for a line a server sent).
"""

from agi_callbot.agi.commands.control import (
    Answer,
    ChannelStatus,
    Exec,
    GetFullVariable,
    GetVariable,
    HangupChannel,
    Noop,
    SetMusic,
    SetVariable,
    Verbose,
)
from agi_callbot.agi.commands.line import (
    MAX_LINE,
    Command,
    Raw,
    Wait,
    command_wait,
    parse_args,
    quote,
)
from agi_callbot.agi.commands.media import (
    ControlStreamFile,
    GetData,
    GetOption,
    SayAlpha,
    SayDigits,
    SayNumber,
    StreamFile,
    WaitForDigit,
)
from agi_callbot.agi.commands.parse import parse_command

__all__ = [
    "MAX_LINE",
    "Answer",
    "ChannelStatus",
    "Command",
    "ControlStreamFile",
    "Exec",
    "GetData",
    "GetFullVariable",
    "GetOption",
    "GetVariable",
    "HangupChannel",
    "Noop",
    "Raw",
    "SayAlpha",
    "SayDigits",
    "SayNumber",
    "SetMusic",
    "SetVariable",
    "StreamFile",
    "Verbose",
    "Wait",
    "WaitForDigit",
    "command_wait",
    "parse_args",
    "parse_command",
    "quote",
]
