"""Prompt text: markup stripped, chunks an engine can take, nothing lost or reordered."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agi_callbot.tts.text import clean_text, is_speakable, split_sentences


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (None, ""),
        ("   ", ""),
        ("Hola   mundo\n\n adiós", "Hola mundo adiós"),
        ("<speak>Hola <emphasis>mundo</emphasis></speak>", "Hola mundo"),
        ('Uno <break time="500ms"/> dos', "Uno. dos"),
        ("<p>Uno.</p><p>Dos</p>", "Uno. Dos."),
        ("Tom &amp; Jerry &lt;3", "Tom & Jerry <3"),
        ("Precio: 5 € , gracias .", "Precio: 5 €, gracias."),
        ("<speak></speak>", ""),
    ],
)
def test_clean_text(raw: str | None, clean: str) -> None:
    assert clean_text(raw) == clean


def test_is_speakable() -> None:
    assert is_speakable("Hola") and is_speakable("123")
    assert not is_speakable("") and not is_speakable("... ¡! —")


def test_split_prefers_sentence_ends() -> None:
    text = "Hola. Esto es una frase larga, con comas, y más texto aquí. Adiós!"
    assert split_sentences(text, 30) == [
        "Hola. Esto es una frase larga,",
        "con comas, y más texto aquí.",
        "Adiós!",
    ]
    assert split_sentences(text, 1000) == [text]


def test_split_cuts_a_word_longer_than_the_limit() -> None:
    assert split_sentences("a" * 25 + " bb", 10) == ["a" * 10, "a" * 10, "aaaaa bb"]


def test_split_refuses_a_silly_limit() -> None:
    with pytest.raises(ValueError):
        split_sentences("hola", 0)


words = st.text(alphabet="abcdefghijklmnñopqrstuvwxyzáé", min_size=1, max_size=30)
punctuated = st.tuples(words, st.sampled_from(["", ",", ".", "!", "?", ";"])).map("".join)


@given(st.lists(punctuated, min_size=1, max_size=80), st.integers(min_value=5, max_value=200))
def test_split_keeps_every_word_in_order_within_the_limit(parts: list[str], limit: int) -> None:
    text = " ".join(parts)
    chunks = split_sentences(text, limit)
    assert all(0 < len(chunk) <= limit for chunk in chunks)
    assert "".join(chunks).replace(" ", "") == text.replace(" ", "")
    if all(len(p) <= limit for p in parts):  # no word had to be cut
        assert " ".join(chunks) == text
