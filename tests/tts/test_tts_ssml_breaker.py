"""SSML made from a flow's text, and the circuit breaker on a controlled clock."""

from __future__ import annotations

from xml.etree import ElementTree

from hypothesis import given
from hypothesis import strategies as st

from agi_callbot import metrics
from agi_callbot.tts.breaker import CircuitBreaker
from agi_callbot.tts.ssml import split_ssml, ssml_body


def test_pauses_are_kept_with_their_length_and_phone_numbers_are_read_as_such() -> None:
    body = ssml_body('Llame al +34 912 345 678.<break time="1.5s"/> O pulse <b>uno</b>.')
    assert body == (
        'Llame al <say-as interpret-as="telephone">+34 912 345 678</say-as>. '
        '<break time="1500ms"/> O pulse uno.'
    )


def test_text_is_escaped_and_pauses_are_bounded() -> None:
    body = ssml_body("Tom & Jerry <3 <break time='99s'/> fin <break/> x")
    assert body == 'Tom &amp; Jerry &lt;3 <break time="5000ms"/> fin <break time="500ms"/> x'
    assert ssml_body("<break time='1s'/>Hola<break/>") == "Hola"  # pauses at the ends: none


def test_short_numbers_amounts_and_dates_are_not_phone_numbers() -> None:
    for text in (
        "Son 1.250 euros.",
        "El 25-12-2026.",
        "Pedido 12345.",
        "Año 2026",
        "Total 1 250 000",
    ):
        assert "say-as" not in ssml_body(text)


@given(st.text(max_size=300))
def test_any_text_makes_well_formed_ssml(text: str) -> None:
    body = ssml_body(text)
    ElementTree.fromstring(f"<speak>{body}</speak>")  # raises on a broken document


@given(st.text(alphabet="ab <>&+0123456789.", max_size=400), st.integers(20, 120))
def test_split_chunks_are_each_well_formed(text: str, size: int) -> None:
    body = ssml_body(text.replace("<", "<break/>"))
    chunks = split_ssml(body, size)
    for chunk in chunks:
        ElementTree.fromstring(f"<speak>{chunk}</speak>")
    assert " ".join(chunks).split() == body.split()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def state_gauge(name: str) -> float:
    return metrics.tts_breaker_state.labels(name)._value.get()


def test_the_breaker_opens_after_failures_in_a_row_then_lets_one_trial_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker("bk-test", failures=3, open_for=30, clock=clock)
    for _ in range(2):
        assert breaker.admit()
        breaker.failed("HTTP 500")
    breaker.succeeded()  # a success resets the count
    for _ in range(3):
        assert breaker.admit()
        breaker.failed("HTTP 500")
    assert breaker.state == "open" and not breaker.admit() and state_gauge("bk-test") == 2
    clock.now += 29
    assert breaker.is_open() and breaker.seconds_left() == 1
    clock.now += 1
    assert breaker.state == "half-open" and not breaker.is_open()
    assert breaker.admit() and not breaker.admit()  # one trial only
    assert state_gauge("bk-test") == 1
    breaker.failed("HTTP 500")  # the trial failed: open again, for the whole period
    assert breaker.state == "open" and breaker.seconds_left() == 30
    clock.now += 30
    assert breaker.admit()
    breaker.succeeded()
    assert breaker.state == "closed" and state_gauge("bk-test") == 0


def test_auth_and_quota_open_at_once_for_as_long_as_asked() -> None:
    clock = Clock()
    breaker = CircuitBreaker("bk-quota", failures=3, open_for=30, clock=clock)
    trips = metrics.tts_breaker_trips_total.labels("bk-quota")
    before = trips._value.get()
    breaker.failed("quota", open_for=600)
    assert breaker.state == "open" and breaker.seconds_left() == 600
    assert breaker.reason == "quota" and trips._value.get() - before == 1


def test_a_request_about_one_text_ends_a_trial_without_opening() -> None:
    clock = Clock()
    breaker = CircuitBreaker("bk-400", failures=1, open_for=10, clock=clock)
    breaker.failed("timeout")
    clock.now += 10
    assert breaker.admit()
    breaker.released()  # a 400: the provider answered, so it is up
    assert breaker.state == "closed" and breaker.admit()
