"""A call's values placed into URLs, headers and sound names, encoded for where they land.

Variables hold what the caller controls (their number and SIP display name, the digits
they press, AGI arguments) and what a webhook answered. The flow's own text is trusted;
a value is not, so it is encoded for the part of the text it lands in, or refused:

- URL (``webhook: {url: ...}``): a value in the path is one segment (``/`` is ``%2F``;
  a value that is only dots is ``%2E``-encoded so no client resolves it as ``..``); in
  the query or fragment it is one value (``&``, ``=``, ``#``, ``+`` encoded); in the host
  it must be a host name (letters, digits, ``-`` and ``.``), anything else is refused.
- Header value: no line break or control character.
- Sound name (``play: ${info}``): a plain name inside Asterisk's sounds tree — no ``..``
  segment, no absolute path unless the flow's own text starts with ``/``, only letters,
  digits, ``_ - . + @`` and ``/``.

A refusal raises :class:`UnsafeValue`: the flow takes its error branch, and the log line
says what was wrong and where, without repeating the value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from agi_callbot.errors import FlowRuntimeError
from agi_callbot.flow.expr import parse_template

_HOST = re.compile(r"[A-Za-z0-9.-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SOUND = re.compile(r"[\w.+@/-]+")


class UnsafeValue(FlowRuntimeError):
    """A call's value cannot go where the flow puts it (the flow's error branch)."""


def fill_url(template: str, variables: Mapping[str, Any]) -> str:
    """``template`` with each ``${…}`` encoded for the URL part it lands in."""

    def place(value: str, before: str) -> str:
        _, sep, rest = before.partition("://")
        if not sep:
            raise UnsafeValue(f"url {template!r}: a value cannot make up the URL's scheme")
        if not any(c in rest for c in "/?#"):
            if not _HOST.fullmatch(value):
                raise UnsafeValue(
                    f"url {template!r}: a value in the host must be a host name "
                    "(letters, digits, '-' and '.')"
                )
            return value
        if "?" in rest or "#" in rest:
            return quote(value, safe="")
        encoded = quote(value, safe="")
        if encoded and set(encoded) == {"."}:
            encoded = encoded.replace(".", "%2E")
        return encoded

    return parse_template(template).render(variables, place=place)


def header_value(name: str, value: str) -> str:
    """``value`` if it can be sent as header ``name`` (no line break, no control character)."""
    if _CONTROL.search(value):
        raise UnsafeValue(f"header {name!r}: the value holds a line break or control character")
    return value


def sound_name(template: str, variables: Mapping[str, Any]) -> str:
    """The sound to play for ``template``; a name made from values must stay inside the
    sounds tree. The flow's own text (no ``${…}``) is the admin's and passes unchanged."""
    parsed = parse_template(template)
    name = parsed.render(variables)
    if not parsed.dynamic:
        return name
    literal_root = isinstance(parsed.parts[0], str) and parsed.parts[0].startswith("/")
    problem = ""
    if not _SOUND.fullmatch(name):
        problem = "only letters, digits, '_ - . + @' and '/' are allowed"
    elif name.startswith("/") and not literal_root:
        problem = "an absolute path is not allowed"
    elif any(seg in ("..", ".") for seg in name.split("/")):
        problem = "'..' is not allowed"
    elif "//" in name or name.endswith("/"):
        problem = "an empty path segment is not allowed"
    if problem:
        raise UnsafeValue(
            f"play {template!r}: the value is not a sound name inside the sounds tree ({problem})"
        )
    return name
