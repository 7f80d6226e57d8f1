"""Properties of one message's life under any sequence of provider answers (hypothesis)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from outbox_loopback import ManualClock, ScriptedGateway

from agi_callbot.errors import GatewayError
from agi_callbot.outbox.service import Outbox
from agi_callbot.outbox.store.sqlite import SqliteStore
from agi_callbot.outbox.worker import backoff_delay
from agi_callbot.services import Message

ANSWERS = {
    "retryable": lambda: GatewayError("503", retryable=True, status=503),
    "timeout": TimeoutError,
    "permanent": lambda: GatewayError("invalid number", retryable=False, code="21211"),
}


def expected(answers: list[str], max_attempts: int) -> tuple[str, int]:
    """(end status, attempts) a correct outbox reaches for these answers (then: success)."""
    for n, answer in enumerate(answers[:max_attempts], start=1):
        if answer == "permanent":
            return "failed", n
    if len(answers) >= max_attempts:
        return "dead", max_attempts
    return "sent", len(answers) + 1


async def live(answers: list[str], max_attempts: int, rand: float) -> None:
    clock = ManualClock()
    gateway = ScriptedGateway("sms", [ANSWERS[a]() for a in answers])
    with tempfile.TemporaryDirectory() as tmp:
        outbox = Outbox(
            SqliteStore(Path(tmp) / "o.sqlite"),
            {"sms": gateway},
            clock=clock,
            max_attempts=max_attempts,
            rand=lambda: rand,
        )
        await outbox.open()
        id = await outbox.enqueue(Message("sms", "+34600111222", {"text": "x"}), "key")
        for _ in range(max_attempts + 1):
            await outbox.run_once()
            row = await outbox.get(id)
            if row.status != "queued":
                break
            assert row.next_attempt_at - clock.now() <= outbox.backoff_max
            clock.advance(outbox.backoff_max)
        status, attempts = expected(answers, max_attempts)
        assert (row.status, row.attempts) == (status, attempts)
        assert [k for _, k in gateway.calls] == ["key"] * attempts
        assert (row.provider_id is not None) == (status == "sent")
        assert row.claimed_until is None
        assert await outbox.run_once() == 0, "an end state is never claimed again"
        await outbox.aclose()


@settings(max_examples=40, deadline=None)
@given(
    answers=st.lists(st.sampled_from(sorted(ANSWERS)), max_size=9),
    max_attempts=st.integers(min_value=1, max_value=6),
    rand=st.floats(min_value=0.0, max_value=0.999),
)
def test_any_answer_sequence_ends_in_the_right_state(
    answers: list[str], max_attempts: int, rand: float
) -> None:
    asyncio.run(live(answers, max_attempts, rand))


@given(
    attempts=st.integers(min_value=0, max_value=10_000),
    base=st.floats(min_value=0.001, max_value=60),
    cap=st.floats(min_value=0.001, max_value=3600),
    rand=st.floats(min_value=0.0, max_value=0.999999),
)
def test_backoff_stays_within_its_window(
    attempts: int, base: float, cap: float, rand: float
) -> None:
    delay = backoff_delay(attempts, base, cap, lambda: rand)
    assert 0.0 <= delay <= cap
    assert delay <= base * 2.0 ** min(max(attempts - 1, 0), 62)
