"""Asterisk's answers to commands, parsed from their wire lines.

Shapes seen on a real Asterisk 22.10.1 (tests/transcripts):

- ``200 result=<value>[ (<data>)][ endpos=<n>]``: the value is an integer, empty
  (GET DATA without input, 04) or a digit string such as ``*1`` or ``0042`` that must
  stay a string; the data may hold spaces, quotes and parentheses (07) and, when a
  channel value holds a newline, spans several lines (27);
- ``510 Invalid or unknown command``;
- ``511 Command Not Permitted on a dead channel or intercept routine``;
- ``520-Invalid command syntax.  Proper usage follows:`` + documentation lines +
  ``520 End of proper usage.`` (16).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agi_callbot.errors import RemoteProtocolError

_SUCCESS = re.compile(
    rb"^200 result=(?P<result>[^ ]*)(?: \((?P<data>.*)\))?(?: endpos=(?P<endpos>-?\d+))?$",
    re.DOTALL,
)
USAGE_END = b"520 End of proper usage."


@dataclass(frozen=True)
class Reply:
    """One answer. ``result`` and ``data`` are text exactly as sent (``None`` = absent)."""

    code: int
    result: str = ""
    data: str | None = None
    endpos: int | None = None
    #: the 510/511 message, or the 520 usage text
    text: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def value(self) -> int:
        """``result`` as an integer: most commands answer one; ``-1`` for an empty result."""
        try:
            return int(self.result)
        except ValueError:
            return -1

    @property
    def timed_out(self) -> bool:
        """GET DATA's ``(timeout)`` marker (04)."""
        return self.data == "timeout"


def parse_success(line: bytes) -> Reply | None:
    """Parse a complete ``200`` reply (its lines joined with ``\\n``); ``None`` if malformed."""
    match = _SUCCESS.match(line)
    if match is None:
        return None
    data = match.group("data")
    endpos = match.group("endpos")
    return Reply(
        code=200,
        result=match.group("result").decode("utf-8", errors="replace"),
        data=None if data is None else data.decode("utf-8", errors="replace"),
        endpos=None if endpos is None else int(endpos),
    )


#: ``result`` values worth remembering: the codes most commands answer (0, 1, -1,
#: a DTMF digit's ASCII code); a caller's typed digits or a variable's value never
_COMMON_RESULTS = frozenset(str(n) for n in range(-1, 256))
_KNOWN_MAX = 512
#: complete one-line replies without data, parsed once: a NOOP's ``200 result=0``
#: is the same immutable :class:`Reply` every time (bounded: later lines are parsed)
_known: dict[bytes, Reply] = {}


def known_success(line: bytes) -> Reply | None:
    """The reply of a ``200`` line that was parsed before (see :data:`_known`), if any.

    Such a line has no ``(data``, so it never opens a multi-line reply."""
    return _known.get(line)


def parse_success_line(line: bytes) -> Reply | None:
    """:func:`parse_success` for one whole line, remembering the common data-less ones."""
    reply = parse_success(line)
    if (
        reply is not None
        and reply.data is None
        and reply.result in _COMMON_RESULTS
        and len(_known) < _KNOWN_MAX
    ):
        _known[line] = reply
    return reply


def opens_data(line: bytes) -> bool:
    """A ``200`` line whose ``(data`` is not closed on it: the value held a newline (27)."""
    head, sep, rest = line.partition(b" (")
    return (
        bool(sep)
        and head.startswith(b"200 result=")
        and b" " not in head[11:]
        and not (rest.endswith(b")") or re.search(rb"\) endpos=-?\d+$", rest))
    )


def parse_single(line: bytes) -> Reply:
    """A one-line reply other than 200: 510, 511, or 520 without usage text."""
    code_text, _, message = line.partition(b" ")
    try:
        code = int(code_text)
    except ValueError:
        raise RemoteProtocolError(f"not an AGI reply: {line[:80]!r}") from None
    if code not in (510, 511, 520):
        raise RemoteProtocolError(f"unknown AGI reply code {code}: {line[:80]!r}")
    return Reply(code=code, text=message.decode("utf-8", errors="replace"))


def usage_reply(lines: list[bytes]) -> Reply:
    """The 520 block: lines after the ``520-`` opener, up to (not including) the end line."""
    return Reply(code=520, text="\n".join(x.decode("utf-8", errors="replace") for x in lines))
