"""Workers: backoff with a test clock, dead letters, fallbacks, deadlines, leases, wake-up."""

from __future__ import annotations

import asyncio

import pytest
from outbox_loopback import LoopbackGateway, ProviderServer, ScriptedGateway

from agi_callbot.errors import GatewayError
from agi_callbot.outbox.service import Outbox
from agi_callbot.outbox.worker import backoff_delay
from agi_callbot.services import Message

NUMBER = "+34600111222"


def retryable(status: int = 503) -> GatewayError:
    return GatewayError("provider unavailable", retryable=True, status=status)


def permanent(code: str = "63016") -> GatewayError:
    return GatewayError("outside the customer-service window", retryable=False, code=code)


def test_backoff_is_exponential_capped_and_fully_jittered() -> None:
    top = [backoff_delay(n, 2.0, 600.0, lambda: 1.0) for n in range(1, 12)]
    assert top == [2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]
    assert backoff_delay(5, 2.0, 600.0, lambda: 0.0) == 0.0
    assert backoff_delay(3, 2.0, 600.0, lambda: 0.25) == 2.0
    assert backoff_delay(10_000, 2.0, 600.0, lambda: 1.0) == 600.0


async def test_retries_follow_the_backoff_then_send(make_outbox, clock, gateways) -> None:
    gateways["sms"].errors = [retryable(), retryable(429), TimeoutError()]
    outbox: Outbox = await make_outbox(backoff_base=2.0, rand=lambda: 0.5)
    id = await outbox.enqueue(Message("sms", NUMBER, {"text": "x"}), "k")
    waits = []
    for _ in range(3):
        assert await outbox.run_once() == 1
        row = await outbox.get(id)
        assert row.status == "queued"
        waits.append(row.next_attempt_at - clock.now())
        clock.advance(waits[-1] - 0.01)
        assert await outbox.run_once() == 0, "not due before its backoff"
        clock.advance(0.01)
    assert waits == [1.0, 2.0, 4.0]
    assert await outbox.run_once() == 1
    row = await outbox.get(id)
    assert (row.status, row.attempts, row.reason) == ("sent", 4, "")
    assert [k for _, k in gateways["sms"].calls] == ["k"] * 4


async def test_retryable_failures_end_dead_after_max_attempts(make_outbox, clock, gateways) -> None:
    gateways["sms"].errors = [retryable() for _ in range(10)]
    outbox = await make_outbox(max_attempts=3)
    id = await outbox.enqueue(Message("sms", NUMBER, {"text": "x"}), "k")
    for _ in range(3):
        await outbox.run_once()
        clock.advance(1000)
    row = await outbox.get(id)
    assert row.status == "dead"
    assert row.attempts == 3
    assert row.reason == "provider unavailable (HTTP 503) (gave up after 3 attempts)"
    assert len(gateways["sms"].calls) == 3


async def test_permanent_failure_follows_the_fallback_chain(outbox: Outbox, gateways) -> None:
    await outbox.optins.record(NUMBER, "whatsapp", "ivr")
    gateways["whatsapp"].errors = [permanent()]
    gateways["sms"].errors = [GatewayError("invalid number", retryable=False, status=400)]
    message = Message(
        "whatsapp",
        NUMBER,
        {"template": "encuesta", "language": "es", "params": ["Ana"]},
        call_uniqueid="1700.7",
        flow="soporte",
        block="goodbye",
        fallback=(
            {"sms": {"text": "Encuesta: https://acme.example/e"}},
            {"channel": "email", "to": "ana@example.com", "subject": "Encuesta"},
        ),
    )
    first = await outbox.enqueue(message, "1700.7/goodbye/0")
    assert await outbox.run_once() == 1  # whatsapp fails, sms queued
    assert await outbox.run_once() == 1  # sms fails, email queued
    assert await outbox.run_once() == 1  # email sent
    assert await outbox.run_once() == 0
    rows = {r.key: r for r in await outbox.list()}
    assert rows["1700.7/goodbye/0"].id == first
    assert rows["1700.7/goodbye/0"].status == "failed"
    assert "63016" in rows["1700.7/goodbye/0"].reason
    sms = rows["1700.7/goodbye/0/fallback/1"]
    assert (sms.channel, sms.to, sms.status, sms.flow, sms.call_uniqueid) == (
        "sms",
        NUMBER,
        "failed",
        "soporte",
        "1700.7",
    )
    assert sms.payload == {"text": "Encuesta: https://acme.example/e"}
    email = rows["1700.7/goodbye/0/fallback/2"]
    assert (email.channel, email.to, email.status, email.fallback) == (
        "email",
        "ana@example.com",
        "sent",
        (),
    )
    assert [k for _, k in gateways["email"].calls] == ["1700.7/goodbye/0/fallback/2"]


async def test_whatsapp_without_opt_in_falls_back_to_sms(outbox: Outbox, gateways) -> None:
    message = Message("whatsapp", NUMBER, {"template": "t"}, fallback=({"sms": {"text": "hi"}},))
    await outbox.enqueue(message, "k")
    await outbox.run_once()
    assert gateways["whatsapp"].calls == []
    assert [(m.to, k) for m, k in gateways["sms"].calls] == [(NUMBER, "k/fallback/1")]


async def test_dead_message_follows_its_fallback(make_outbox, clock, gateways) -> None:
    gateways["sms"].errors = [retryable(), retryable()]
    outbox = await make_outbox(max_attempts=2)
    message = Message("sms", NUMBER, {"text": "x"}, fallback=({"email": {"to": "a@b.c"}},))
    await outbox.enqueue(message, "k")
    await outbox.run_once()
    clock.advance(100)
    await outbox.run_once()  # dead: the email is queued
    await outbox.run_once()
    assert [k for _, k in gateways["email"].calls] == ["k/fallback/1"]


async def test_anonymous_caller_skips_every_phone_channel_of_the_chain(outbox, gateways) -> None:
    message = Message(
        "whatsapp",
        "anonymous",
        {"template": "t"},
        fallback=({"sms": {"text": "x"}}, {"webhook": {"event": "call"}}),
    )
    await outbox.enqueue(message, "k")
    rows = {r.key: (r.status, r.reason) for r in await outbox.list()}
    assert rows == {
        "k": ("skipped", "anonymous caller"),
        "k/fallback/1": ("skipped", "anonymous caller"),
        "k/fallback/2": ("queued", ""),
    }


async def test_a_malformed_fallback_entry_is_logged_not_raised(outbox: Outbox, caplog) -> None:
    await outbox.enqueue(Message("sms", "anonymous", {}, fallback=({"a": {}, "b": {}},)), "k")
    assert [r.key for r in await outbox.list()] == ["k"]
    assert "fallback not followed" in caplog.text


async def test_a_send_past_its_deadline_is_retried(make_outbox, provider: ProviderServer) -> None:
    provider.hold = True
    gateway = LoopbackGateway("sms", provider.url)
    outbox = await make_outbox(gateways={"sms": gateway}, send_timeout=0.2)
    id = await outbox.enqueue(Message("sms", NUMBER, {"text": "x"}), "k")
    await outbox.run_once()
    row = await outbox.get(id)
    assert (row.status, row.reason, row.attempts) == ("queued", "no answer within 0.2s", 1)
    await gateway.aclose()


async def test_unexpected_gateway_errors_are_retried_with_the_reason(outbox, gateways) -> None:
    gateways["sms"].errors = [KeyError("params")]
    id = await outbox.enqueue(Message("sms", NUMBER, {"text": "x"}), "k")
    await outbox.run_once()
    row = await outbox.get(id)
    assert (row.status, row.reason) == ("queued", "KeyError: 'params'")


async def test_unknown_channel_gateway_missing_fails_the_message(make_outbox, gateways) -> None:
    outbox = await make_outbox(gateways={"email": gateways["email"]})
    id = await outbox.enqueue(Message("sms", NUMBER, {"text": "x"}), "k")
    await outbox.run_once()
    row = await outbox.get(id)
    assert (row.status, row.reason) == ("failed", "no gateway for channel 'sms'")


async def test_an_expired_lease_is_claimed_again_and_fences_the_old_worker(
    outbox: Outbox, clock, gateways
) -> None:
    id = await outbox.enqueue(Message("sms", NUMBER, {"text": "x"}), "k")
    [stale] = await outbox.store.claim(clock.now(), outbox.lease, 10)  # a worker that died
    assert await outbox.run_once() == 0, "leased: nobody else may send it"
    clock.advance(outbox.lease + 0.001)
    assert await outbox.run_once() == 1
    row = await outbox.get(id)
    assert (row.status, row.attempts) == ("sent", 2)
    assert not await outbox.store.mark_sent(stale, "late", clock.now()), "old lease is fenced"
    assert (await outbox.get(id)).provider_id == "sms-1"


async def test_workers_wake_on_enqueue_and_deliver_over_http(
    make_outbox, provider: ProviderServer
) -> None:
    gateway = LoopbackGateway("sms", provider.url)
    outbox = await make_outbox(gateways={"sms": gateway}, poll_interval=3600, workers=4)
    await outbox.start()
    await asyncio.sleep(0.05)  # every worker is now idle, waiting for a wake-up or the hour
    ids = [
        await outbox.enqueue(Message("sms", NUMBER, {"text": f"{n}"}), f"k{n}") for n in range(40)
    ]
    received = await provider.wait_for(40)
    assert sorted(r.key for r in received) == sorted(f"k{n}" for n in range(40))
    await outbox.aclose()
    await outbox.open()
    assert {(await outbox.get(i)).status for i in ids} == {"sent"}
    assert await outbox.counts() == {"sent": 40}
    await gateway.aclose()


async def test_stopping_gives_leases_back(make_outbox, provider: ProviderServer) -> None:
    provider.hold = True
    gateway = LoopbackGateway("sms", provider.url)
    outbox = await make_outbox(gateways={"sms": gateway}, poll_interval=3600)
    await outbox.start()
    id = await outbox.enqueue(Message("sms", NUMBER, {"text": "x"}), "k")
    await provider.wait_for(1)
    await outbox.aclose(grace=0.05)
    await outbox.open()
    row = await outbox.get(id)
    assert (row.status, row.attempts, row.claimed_until) == ("queued", 0, None)
    await gateway.aclose()


async def test_provider_status_callbacks_update_the_sent_row(outbox: Outbox) -> None:
    id = await outbox.enqueue(Message("sms", NUMBER, {"text": "x"}), "k")
    await outbox.run_once()
    assert await outbox.delivery_status("sms-1", "delivered")
    assert not await outbox.delivery_status("nope", "delivered")
    assert (await outbox.get(id)).delivery == "delivered"


async def test_a_failure_reported_after_the_send_follows_the_fallback(outbox, gateways) -> None:
    """Meta reports 131047 (outside the customer-service window) in a status callback,
    after accepting the message: the SMS fallback goes out, once however often it repeats."""
    await outbox.optins.record(NUMBER, "whatsapp", "ivr")
    message = Message("whatsapp", NUMBER, {"template": "t"}, fallback=({"sms": {"text": "x"}},))
    id = await outbox.enqueue(message, "k")
    await outbox.run_once()
    assert await outbox.delivery_status("whatsapp-1", "failed", "131047")
    assert await outbox.delivery_status("whatsapp-1", "failed", "131047")
    await outbox.run_once()
    row = await outbox.get(id)
    assert (row.status, row.delivery, row.reason) == (
        "sent",
        "failed",
        "provider reported failure (code 131047)",
    )
    assert [(m.to, k) for m, k in gateways["sms"].calls] == [(NUMBER, "k/fallback/1")]


@pytest.mark.parametrize("workers", [0, -1])
def test_workers_count_must_be_positive(workers: int) -> None:
    from agi_callbot.outbox.store.sqlite import SqliteStore

    with pytest.raises(ValueError, match="at least 1"):
        Outbox(SqliteStore("unused.sqlite"), {}, workers=workers)


def test_scripted_gateway_is_a_gateway() -> None:
    from agi_callbot.gateways import Gateway

    assert isinstance(ScriptedGateway("sms"), Gateway)


async def test_metrics_count_sends_and_failures_and_read_the_depth(
    make_outbox, clock, gateways
) -> None:
    from agi_callbot import metrics

    def value(name: str, **labels: str) -> float:
        return metrics.REGISTRY.get_sample_value(name, labels) or 0.0

    sent0 = value("callbot_outbox_sent_total", channel="email")
    failed0 = value("callbot_outbox_failed_total", channel="email", reason="retryable")
    gateways["email"].errors = [retryable()]
    outbox = await make_outbox(poll_interval=3600)
    await outbox.enqueue(Message("email", "ana@example.com", {"subject": "s"}), "e")
    await outbox.enqueue(Message("sms", "anonymous", {}), "s")
    clock.advance(30)
    await outbox.collect_metrics()
    assert value("callbot_outbox_depth", status="queued") == 1
    assert value("callbot_outbox_depth", status="skipped") == 1
    assert value("callbot_outbox_oldest_age_seconds") == 30
    await outbox.run_once()
    clock.advance(100)
    await outbox.run_once()
    await outbox.collect_metrics()
    assert value("callbot_outbox_depth", status="sent") == 1
    assert value("callbot_outbox_depth", status="queued") == 0
    assert value("callbot_outbox_oldest_age_seconds") == 0
    assert value("callbot_outbox_sent_total", channel="email") == sent0 + 1
    assert value("callbot_outbox_failed_total", channel="email", reason="retryable") == failed0 + 1
    await outbox.ping()


def test_logs_never_show_a_full_number_or_mailbox() -> None:
    from agi_callbot.outbox.model import shown_to

    assert shown_to("sms", "+34600111222") == "+34600***222"
    assert shown_to("email", "ana.garcia@example.com") == "…@example.com"
    assert shown_to("webhook", "https://crm.example/h?token=abc") == "https://crm.example/h"
