"""Webhook gateway: signed JSON on a real loopback server."""

from __future__ import annotations

import hashlib
import hmac
import logging

import pytest

from agi_callbot.errors import ConfigError, GatewayError
from agi_callbot.gateways import Sent, build_gateways
from agi_callbot.gateways.webhook import MAX_ANSWER, in_call_webhooks, verify
from agi_callbot.services import Message, WebhookRequest

SECRET = "whsec-0123456789"


@pytest.fixture
async def webhook(make_settings, provider, monkeypatch):
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    conf = {
        "url": provider.url + "/hooks/callbot",
        "secret_env": "WEBHOOK_SECRET",
        "headers": {"X-Tenant": "acme"},
        "timeout": "300ms",
    }
    gateway = build_gateways(make_settings({"webhook": conf}))["webhook"]
    yield gateway
    await gateway.aclose()


def event(to: str = "", method: str = "POST", headers: dict | None = None, **data) -> Message:
    payload = {
        "data": {"caller": "+34600111222", "choice": "2", **data},
        "method": method,
        "headers": headers or {},
    }
    return Message(
        "webhook", to, payload, call_uniqueid="1700000000.7", flow="soporte", block="send_link"
    )


async def test_signed_json_post(webhook, provider) -> None:
    provider.reply(202, {"id": "evt_1"})
    sent = await webhook.send(event(nota="ñandú"), key="1700000000.7:send_link:0")
    assert sent == Sent("evt_1", "http")
    request = provider.requests[0]
    assert request.path == "/hooks/callbot"
    assert request.method == "POST"
    assert request.json == {"caller": "+34600111222", "choice": "2", "nota": "ñandú"}
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Callbot-Signature"] == expected
    assert verify(SECRET, request.body, request.headers["X-Callbot-Signature"])
    assert not verify("other", request.body, request.headers["X-Callbot-Signature"])
    assert not verify(SECRET, request.body + b" ", request.headers["X-Callbot-Signature"])
    assert not verify(SECRET, request.body, None)
    assert request.headers["Idempotency-Key"] == "1700000000.7:send_link:0"
    assert request.headers["X-Tenant"] == "acme"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Callbot-Call"] == "1700000000.7"
    assert request.headers["X-Callbot-Flow"] == "soporte"
    assert request.headers["X-Callbot-Block"] == "send_link"


async def test_action_url_wins_and_plain_answers_are_fine(webhook, provider) -> None:
    provider.reply(204, None)
    sent = await webhook.send(event(to=provider.url + "/other"), key="k")
    assert sent.provider_id is None and provider.requests[0].path == "/other"


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (429, True), (400, False)])
async def test_receiver_errors(webhook, provider, status, retryable) -> None:
    provider.reply(status, {"error": "x"})
    with pytest.raises(GatewayError) as info:
        await webhook.send(event(), key="k")
    assert info.value.retryable is retryable and info.value.status == status


async def test_slow_receiver_times_out(webhook, provider) -> None:
    provider.hang()
    with pytest.raises(GatewayError) as info:
        await webhook.send(event(), key="k")
    assert info.value.retryable and info.value.code == "timeout"


async def test_unsigned_without_secret_and_no_url(make_settings, provider, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    gateway = build_gateways(make_settings({"webhook": {"url": provider.url}}))["webhook"]
    try:
        await gateway.send(event(), key="k")
        assert "X-Callbot-Signature" not in provider.requests[0].headers
    finally:
        await gateway.aclose()
    bare = build_gateways(make_settings({"webhook": {}}))["webhook"]
    try:
        with pytest.raises(GatewayError, match="no URL") as info:
            await bare.send(event(), key="k")
        assert not info.value.retryable
    finally:
        await bare.aclose()
    assert SECRET not in caplog.text


async def test_data_that_is_not_json_is_permanent(webhook, provider) -> None:
    with pytest.raises(GatewayError, match="not JSON") as info:
        await webhook.send(event(blob=object()), key="k")
    assert not info.value.retryable and provider.requests == []


def test_webhook_config_errors(make_settings) -> None:
    with pytest.raises(ConfigError, match="'UNSET_HOOK' is not set"):
        build_gateways(make_settings({"webhook": {"url": "http://x", "secret_env": "UNSET_HOOK"}}))
    with pytest.raises(ConfigError, match="secret_env"):
        build_gateways(make_settings({"webhook": {"url": "http://x", "secret": SECRET}}))


async def test_bad_action_url_is_permanent(webhook, provider) -> None:
    with pytest.raises(GatewayError, match="bad URL") as info:
        await webhook.send(event(to="http://[::1"), key="k")
    assert not info.value.retryable and provider.requests == []


async def test_method_action_headers_and_default_body(webhook, provider) -> None:
    message = Message(
        "webhook",
        "",
        {"data": {}, "method": "put", "headers": {"X-Tenant": "beta", "Idempotency-Key": "mine"}},
        call_uniqueid="1700000000.8",
        flow="ventas",
        block="fin",
    )
    await webhook.send(message, key="1700000000.8:fin:0")
    request = provider.requests[0]
    assert request.method == "PUT"
    assert request.json == {
        "id": "1700000000.8:fin:0",
        "call": "1700000000.8",
        "flow": "ventas",
        "block": "fin",
    }
    assert request.headers["X-Tenant"] == "beta"
    assert request.headers["Idempotency-Key"] == "1700000000.8:fin:0"
    assert verify(SECRET, request.body, request.headers["X-Callbot-Signature"])


@pytest.mark.parametrize(
    ("message", "match"),
    [
        (event(method="GET"), "method GET cannot carry a message"),
        (event(headers={"X-Note": "a\r\nX-Evil: 1"}), "line break"),
    ],
)
async def test_bad_webhook_actions_are_permanent(webhook, provider, message, match) -> None:
    with pytest.raises(GatewayError, match=match) as info:
        await webhook.send(message, key="k")
    assert not info.value.retryable and provider.requests == []


async def test_fetch_for_a_flow_waiting_on_the_answer(make_settings, provider, monkeypatch) -> None:
    """A webhook with save_as: the gateway's headers and signature, even in dry-run, GET
    allowed, the answer returned; errors, no JSON or a huge answer are GatewayErrors."""
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    conf = {"dry_run": True, "secret_env": "WEBHOOK_SECRET", "headers": {"X-Tenant": "acme"}}
    hooks = in_call_webhooks(make_settings({"webhook": conf}))

    def ask(method: str, url: str, **fields) -> WebhookRequest:
        fields = {"data": {}, "headers": {}, "timeout": 2, **fields}
        return WebhookRequest(
            method, url, key="1700.7/look/0", call="1700.7", flow="soporte", block="look", **fields
        )

    try:
        provider.reply(200, {"status": "vip"})
        crm = provider.url + "/crm"
        answer = await hooks.fetch(ask("get", crm, data={"a": 1}, headers={"X-A": "b"}))
        assert answer == {"status": "vip"}
        request = provider.requests[-1]
        assert request.method == "GET" and request.headers["X-Tenant"] == "acme"
        assert (
            request.headers["X-A"] == "b" and request.headers["Idempotency-Key"] == "1700.7/look/0"
        )
        assert verify(SECRET, request.body, request.headers["X-Callbot-Signature"])
        provider.reply(200, text="<html>", content_type="text/html")
        with pytest.raises(GatewayError, match="not JSON"):
            await hooks.fetch(ask("POST", provider.url))
        provider.reply(200, {"x": "y" * MAX_ANSWER})
        with pytest.raises(GatewayError, match="larger than"):
            await hooks.fetch(ask("POST", provider.url))
        provider.reply(500, {"error": "boom"})
        with pytest.raises(GatewayError):
            await hooks.fetch(ask("POST", provider.url))
        with pytest.raises(GatewayError, match="unknown method"):
            await hooks.fetch(ask("TRACE", provider.url))
    finally:
        await hooks.aclose()
