"""SSML for the providers that take it: pauses and phone numbers, the rest plain and escaped.

A flow's text is plain text. What the neural providers can do better than plain text
is kept and made explicit: an explicit pause (``<break time="500ms"/>`` in the flow
text) stays a pause of that length, and a phone number is read as one
(``<say-as interpret-as="telephone">``) instead of "nine hundred twelve million…".
Everything else goes through :func:`~agi_callbot.tts.text.clean_text` (markup removed,
entities decoded) and is then escaped, so a ``<`` or ``&`` in a prompt can never
break the provider's XML.

The result is the *body* of a ``<speak>`` element: canonical (the same text always
gives the same body, so it is what the cache key is made of) and free of any
provider's voice or rate, which each engine wraps around it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from xml.sax.saxutils import escape

from agi_callbot.tts.text import clean_text

_BREAK_TAG = re.compile(r"<\s*break\b([^<>]*)>", re.IGNORECASE)
_TIME = re.compile(r"time\s*=\s*[\"']?\s*(\d+(?:\.\d+)?)\s*(ms|s)\b", re.IGNORECASE)
#: a phone number: ``+`` and 7 to 15 digits (spaces or hyphens between groups), or 9 to
#: 15 digits grouped by spaces only (``912 345 678``; ``25-12-2026`` is a date)
_PHONE = re.compile(r"(?<![\w+])(?:\+\d(?:[ -]?\d){6,14}|\d(?: ?\d){8,14})(?![\w-])")
#: a pause tag without a time, and the longest pause a provider is asked for
DEFAULT_PAUSE_MS = 500
MAX_PAUSE_MS = 5000
#: characters XML 1.0 does not allow (control characters, lone surrogates, U+FFFE/F)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: what is never cut: a word with any element glued to it (``&amp;<say-as …>…</say-as>``)
_ATOM = re.compile(r"(?:<say-as\b[^>]*>.*?</say-as>|<break\b[^>]*/>|[^\s<])+")


def ssml_body(text: str | None) -> str:
    """The text as the inside of ``<speak>``: pauses kept, phone numbers marked, escaped."""
    if not text:
        return ""
    parts = _around(_BREAK_TAG, text, _spoken, lambda m: f'<break time="{_pause_ms(m[1])}ms"/>')
    body = " ".join(p for p in parts if p)
    # a pause at either end is silence the pipeline trims anyway
    return re.sub(r"^(?:<break [^>]*/>\s*)+|(?:\s*<break [^>]*/>)+$", "", body)


def split_ssml(body: str, max_chars: int) -> list[str]:
    """Cut a body into chunks of about ``max_chars`` without cutting an element in two."""
    if len(body) <= max_chars:
        return [body] if body else []
    chunks: list[str] = []
    current = ""
    for atom in _ATOM.findall(body):
        candidate = f"{current} {atom}" if current else atom
        if current and len(candidate) > max_chars:
            chunks.append(current)
            current = atom
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


def plain_of(body: str) -> str:
    """What a body says, without its markup (for messages and for engines without SSML)."""
    return clean_text(body)


def _spoken(fragment: str) -> str:
    cleaned = clean_text(_NOT_XML.sub("", fragment))
    telephone = '<say-as interpret-as="telephone">{}</say-as>'.format
    return "".join(_around(_PHONE, cleaned, escape, lambda m: telephone(m[0]))).strip()


def _around(
    pattern: re.Pattern[str],
    text: str,
    between: Callable[[str], str],
    matched: Callable[[re.Match[str]], str],
) -> list[str]:
    """``text`` cut at each match of ``pattern``: ``between`` the matches, ``matched`` on them."""
    out: list[str] = []
    position = 0
    for match in pattern.finditer(text):
        out += [between(text[position : match.start()]), matched(match)]
        position = match.end()
    out.append(between(text[position:]))
    return out


def _pause_ms(attributes: str) -> int:
    match = _TIME.search(attributes)
    if match is None:
        return DEFAULT_PAUSE_MS
    value = float(match.group(1)) * (1000 if match.group(2).lower() == "s" else 1)
    return int(min(max(value, 0), MAX_PAUSE_MS))
