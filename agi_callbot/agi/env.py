"""The ``agi_*`` environment block Asterisk sends before the first command.

Facts from a real Asterisk 22.10.1 (tests/transcripts 01, 02, 26-28, 32): one
``agi_name: value`` line per variable, an empty line at the end; values may be
empty (``agi_accountcode: `` keeps its blank); AGI() arguments come as
``agi_arg_N``. A newline in the caller's name is sent raw and injects a line
(27), so only known keys are kept and no value is trusted: the flow runner
cleans caller text again when it makes variables from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from agi_callbot.errors import RemoteProtocolError

#: every key Asterisk 22 sends, in its order; anything else in the block is dropped
KNOWN_KEYS = (
    "network",
    "network_script",
    "request",
    "channel",
    "language",
    "type",
    "uniqueid",
    "version",
    "callerid",
    "calleridname",
    "callingpres",
    "callingani2",
    "callington",
    "callingtns",
    "dnid",
    "rdnis",
    "context",
    "extension",
    "priority",
    "enhanced",
    "accountcode",
    "threadid",
)
_ARG = re.compile(r"^arg_([1-9][0-9]{0,2})$")
#: Asterisk fills empty caller fields with this word
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Environment:
    """The call as Asterisk described it. Strings as received; see the module doc."""

    network: str = ""
    network_script: str = ""
    request: str = ""
    channel: str = ""
    language: str = ""
    type: str = ""
    uniqueid: str = ""
    version: str = ""
    callerid: str = ""
    calleridname: str = ""
    callingpres: str = ""
    callingani2: str = ""
    callington: str = ""
    callingtns: str = ""
    dnid: str = ""
    rdnis: str = ""
    context: str = ""
    extension: str = ""
    priority: str = ""
    enhanced: str = ""
    accountcode: str = ""
    threadid: str = ""
    args: tuple[str, ...] = ()
    #: keys that are not Asterisk's (an injected line, a newer Asterisk): kept for logs only
    unknown: tuple[str, ...] = field(default=(), repr=False)

    @property
    def script(self) -> str:
        """``agi_network_script`` without its query string: the flow name."""
        return self.network_script.split("?", 1)[0]

    @property
    def query(self) -> dict[str, str]:
        """``?language=en&x=1`` of the AGI URL; the last value wins for a repeated key."""
        _, _, query = self.network_script.partition("?")
        return dict(parse_qsl(query, keep_blank_values=True))

    @property
    def caller_number(self) -> str:
        """The caller's number, or ``""`` where Asterisk says ``unknown`` (28)."""
        return "" if self.callerid == UNKNOWN else self.callerid

    def as_dict(self) -> dict[str, str]:
        return {key: getattr(self, key) for key in KNOWN_KEYS}


#: A repeated key means a value carried a newline (27). The caller's name is the free
#: text that can: lines it injects come right after it, before the real lines of the
#: keys that follow it. So keys up to the name keep their first value, later keys and
#: the arguments their last one.
_FIRST_WINS = frozenset(KNOWN_KEYS[: KNOWN_KEYS.index("calleridname") + 1])
_KNOWN = frozenset(KNOWN_KEYS)


def parse_environment(lines: list[bytes]) -> Environment:
    """Build an :class:`Environment` from the block's lines (without the empty one).

    The first line must be Asterisk's; a later line that is no ``agi_*`` line is the
    tail of a value that held a newline (a caller name, 27): kept aside, never trusted.
    """
    values: dict[str, str] = {}
    args: dict[int, str] = {}
    unknown: list[str] = []
    first = True
    for text in b"\n".join(lines).decode("utf-8", errors="replace").split("\n"):
        name, sep, value = text.partition(":")
        if not sep or not name.startswith("agi_"):
            if first:  # not Asterisk at all (an HTTP probe, a port scanner…)
                raise RemoteProtocolError(f"not an AGI environment line: {text[:80]!r}")
            unknown.append(text[:40])  # the rest of a value that held a newline (27)
            continue
        first = False
        key = name[4:]
        if value[:1] == " ":
            value = value[1:]
        if key in _FIRST_WINS:
            values.setdefault(key, value)
        elif key in _KNOWN:
            values[key] = value
        elif key.startswith("arg_") and _ARG.match(key):
            args[int(key[4:])] = value
        else:
            unknown.append(key)
    ordered = tuple(args.get(n, "") for n in range(1, max(args, default=0) + 1))
    return Environment(**values, args=ordered, unknown=tuple(unknown))


def environment_lines(env: Environment) -> list[bytes]:
    """The block as Asterisk writes it, for the in-memory Asterisk and tests."""
    lines = [f"agi_{key}: {getattr(env, key)}" for key in KNOWN_KEYS]
    lines += [f"agi_arg_{number}: {value}" for number, value in enumerate(env.args, start=1)]
    return [line.encode("utf-8") for line in lines]
