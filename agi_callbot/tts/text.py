"""Prompt text as an engine should receive it: plain, speakable, in chunks it can handle.

Flows are written by people who paste from web pages and SSML examples; no caller
should hear "less-than speak greater-than". Markup is removed (not interpreted: the
engines disagree on SSML), entities decoded, whitespace collapsed. The cleaned text is
what the cache key is made of, so cosmetic differences share one audio file.
"""

from __future__ import annotations

import html
import re

_TAG = re.compile(r"<[^<>]*>")
#: a pause-like tag (``<break/>``, ``<p>``, ``</s>``) becomes a sentence boundary
_PAUSE_TAG = re.compile(r"<\s*/?\s*(break|p|s|br)\b[^<>]*>", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
#: a sentence ends at . ! ? … followed by a space; a clause at , ; :
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+")


def clean_text(text: str | None) -> str:
    """Strip SSML-like markup and entities; collapse whitespace. ``None`` → ``""``."""
    if not text:
        return ""
    text = _PAUSE_TAG.sub(". ", text)
    text = _TAG.sub(" ", text)
    text = html.unescape(text)
    text = _SPACE.sub(" ", text).strip()
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    text = re.sub(r"([.!?])(?:\s*\.)+", r"\1", text)
    return text.lstrip(". ").strip()


def is_speakable(text: str) -> bool:
    """Whether the text has anything an engine can say (a letter or a digit)."""
    return any(ch.isalnum() for ch in text)


def split_sentences(text: str, max_chars: int) -> list[str]:
    """Cut ``text`` into chunks of at most ``max_chars``, at sentence ends where possible.

    Engines have limits (gTTS splits at 100 characters itself; a very long espeak-ng run
    would outlive its timeout), and one failed chunk should not cost a minute of audio.
    Sentences are packed greedily; a sentence longer than the limit is cut at clauses,
    then at spaces, and a word longer than the limit at the limit.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    return _pack(_pieces(text, max_chars), max_chars)


def _pack(pieces: list[str], max_chars: int) -> list[str]:
    """Join pieces of at most ``max_chars`` with spaces, greedily, into chunks as long as
    ``max_chars`` allows."""
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current} {piece}" if current else piece
        if len(candidate) <= max_chars:
            current = candidate
        else:
            chunks.append(current)
            current = piece
    if current:
        chunks.append(current)
    return chunks


def _pieces(text: str, max_chars: int) -> list[str]:
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text.strip()):
        if len(sentence) <= max_chars:
            pieces.append(sentence)
            continue
        for clause in _CLAUSE_END.split(sentence):
            if len(clause) <= max_chars:
                pieces.append(clause)
                continue
            pieces.extend(_words(clause, max_chars))
    return [p for p in pieces if p]


def _words(text: str, max_chars: int) -> list[str]:
    """A clause cut at spaces, a word longer than ``max_chars`` at ``max_chars``."""
    words = text.split(" ")  # an empty word (two spaces in a row) stays a piece
    cut = [w[i : i + max_chars] for w in words for i in range(0, len(w) or 1, max_chars)]
    return _pack(cut, max_chars)
