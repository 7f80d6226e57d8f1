"""Caller numbers → E.164, or the reason a message to them is skipped."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agi_callbot.phone import mask_number as mask
from agi_callbot.phone import to_e164, why_not


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+34600111222", "ES", "+34600111222"),
        ("600111222", "ES", "+34600111222"),
        ("600 11 12 22", "ES", "+34600111222"),
        ("910 00 00 00", "ES", "+34910000000"),
        ("0034600111222", "ES", "+34600111222"),
        ("0034600111222", "US", "+34600111222"),
        ("0034 600-111-222", None, "+34600111222"),
        ("+34 600 11 12 22", "US", "+34600111222"),
        ("(202) 456-1111", "US", "+12024561111"),
        ("202.456.1111", "us", "+12024561111"),
        ("011 44 20 7946 0000", "US", "+442079460000"),
        ("+1 202 456 1111", None, "+12024561111"),
        ("020 7946 0000", "GB", "+442079460000"),
        ("07911 123456", "GB", "+447911123456"),
        ("+44 7911 123456", "ES", "+447911123456"),
        ('"Ana" <600111222>', "ES", "+34600111222"),
        ("sip:+34600111222@carrier.example;user=phone", "ES", "+34600111222"),
        ("tel:+34-600-111-222", None, "+34600111222"),
        ("whatsapp:+34600111222", None, "+34600111222"),
    ],
)
def test_valid_numbers_become_e164(raw: str, region: str | None, e164: str) -> None:
    assert to_e164(raw, region) == e164
    assert why_not(raw, region) is None


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("anonymous", "ES", "anonymous caller"),
        ("Anonymous", "ES", "anonymous caller"),
        ("sip:anonymous@anonymous.invalid", "ES", "anonymous caller"),
        ('"Anonymous" <sip:anonymous@anonymous.invalid>', "ES", "anonymous caller"),
        ("unknown", "ES", "anonymous caller"),
        ("UNKNOWN", "US", "anonymous caller"),
        ("withheld", "GB", "anonymous caller"),
        ("restricted", "US", "anonymous caller"),
        ("private", "ES", "anonymous caller"),
        ("unavailable", "ES", "anonymous caller"),
        ("asterisk", "ES", "anonymous caller"),
        ("", "ES", "no number"),
        ("   ", "ES", "no number"),
        (None, "ES", "no number"),
        ("<>", "ES", "no number"),
        ("12", "ES", "not a valid phone number"),
        ("600111222", "US", "not a valid phone number"),
        ("+3460011122233344", "ES", "not a valid phone number"),
        ("hello", "ES", "not a valid phone number"),
        ("600-ABC-222", "ES", "not a valid phone number"),
        ("6" * 200, "ES", "not a valid phone number"),
        ("600111222", None, "national number without a default region"),
        ("600111222", "XX", "unknown region 'XX'"),
    ],
)
def test_unusable_numbers_give_a_reason(raw: str | None, region: str | None, reason: str) -> None:
    assert to_e164(raw, region) is None
    assert why_not(raw, region) == reason


@given(st.text(max_size=80), st.sampled_from(["ES", "US", "GB", None]))
def test_any_input_gives_e164_or_a_reason(raw: str, region: str | None) -> None:
    e164 = to_e164(raw, region)
    reason = why_not(raw, region)
    assert (e164 is None) != (reason is None)
    if e164 is not None:
        assert e164.startswith("+") and e164[1:].isdigit()
        assert to_e164(e164, None) == e164


def test_mask_keeps_numbers_apart_without_revealing_them() -> None:
    assert mask("+34600111222") == "+34600***222"
    assert "600111" not in mask("+34600111222")
    assert mask("") == ""
    assert mask("1234") == "1234"  # an extension is not personal


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+34600111222", "+34600***222"),
        ("600111222", "600***222"),
        ("+34 600 111 222", "+34 600 *** 222"),
        ("+441234567890123", "+44123***123"),
        ("1001", "1001"),
        ("112", "112"),
        ("anonymous", "anonymous"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_number(number: str | None, masked: str) -> None:
    assert mask(number) == masked


def test_masked_number_never_shows_more_than_eight_digits() -> None:
    for length in range(7, 20):
        number = "+" + "9" * length
        shown = mask(number)
        assert sum(c.isdigit() for c in shown) == min(length - 3, 8)


def test_a_plain_number_is_masked_as_the_same_number_with_a_separator() -> None:
    """Plain ``+digits``/``digits`` take a shortcut; it must agree with the general rule."""
    rng = random.Random(15)
    for _ in range(500):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 18)))
        for number in (digits, "+" + digits):
            spaced = number[:1] + " " + number[1:]
            assert mask(number) == mask(spaced).replace(" ", "", 1), number
    assert mask("+") == "+" and mask("+٣٤٦٠٠١١١٢٢٢") == "+٣٤٦٠٠***٢٢٢"  # other digits: general rule
