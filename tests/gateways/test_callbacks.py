"""Status callbacks on a real aiohttp server: signatures, Meta's challenge, status reports."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from urllib.parse import urlencode

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from agi_callbot.gateways.callbacks import routes, twilio_signature

TWILIO_TOKEN = "twilio-auth-token-0001"
APP_SECRET = "meta-app-secret-0002"
VERIFY_TOKEN = "verify-me-0003"


@pytest.fixture
def gateway_settings(make_settings, monkeypatch):
    monkeypatch.setenv("TWILIO_TOKEN", TWILIO_TOKEN)
    monkeypatch.setenv("WA_TOKEN", "x")
    monkeypatch.setenv("WA_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("WA_VERIFY", VERIFY_TOKEN)
    return make_settings(
        {
            "sms": {
                "provider": "twilio",
                "account_sid": "AC1",
                "auth_token_env": "TWILIO_TOKEN",
                "from": "+34910000000",
                "status_callback": "https://bot.example.com/callbacks/twilio",
            },
            "whatsapp": {
                "provider": "meta",
                "phone_number_id": "1",
                "token_env": "WA_TOKEN",
                "app_secret_env": "WA_APP_SECRET",
                "verify_token_env": "WA_VERIFY",
            },
        }
    )


class Reports:
    def __init__(self) -> None:
        self.seen: list[tuple] = []

    async def __call__(self, provider, provider_id, status, code):
        self.seen.append((provider, provider_id, status, code))
        return True


async def serve(receiver, settings):
    app = web.Application()
    app.add_routes(routes(receiver, settings))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


@pytest.fixture
async def callback_server(gateway_settings):
    reports = Reports()
    server = await serve(reports, gateway_settings)
    async with httpx.AsyncClient(base_url=str(server.make_url("/"))) as client:
        yield client, reports, server
    await server.close()


def reference_signature(token: str, url: str, params: dict[str, str]) -> str:
    data = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def test_twilio_signature_matches_twilios_documented_example() -> None:
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params.items()) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


TWILIO_FORM = {
    "MessageSid": "SM123",
    "MessageStatus": "undelivered",
    "ErrorCode": "30003",
    "AccountSid": "AC1",
    "To": "+34600111222",
    "From": "+34910000000",
    "ApiVersion": "2010-04-01",
}


async def post_twilio(client, form, signature):
    return await client.post(
        "/callbacks/twilio",
        content=urlencode(form),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )


async def test_twilio_callback_signed_for_the_public_url(callback_server) -> None:
    client, reports, _ = callback_server
    url = "https://bot.example.com/callbacks/twilio"
    response = await post_twilio(
        client, TWILIO_FORM, reference_signature(TWILIO_TOKEN, url, TWILIO_FORM)
    )
    assert response.status_code == 204
    assert reports.seen == [("twilio", "SM123", "failed", "30003")]


async def test_twilio_callback_signed_for_the_local_url_with_port(callback_server) -> None:
    client, reports, server = callback_server
    url = str(server.make_url("/callbacks/twilio"))
    form = {**TWILIO_FORM, "MessageStatus": "delivered", "ErrorCode": ""}
    response = await post_twilio(client, form, reference_signature(TWILIO_TOKEN, url, form))
    assert response.status_code == 204
    assert reports.seen == [("twilio", "SM123", "delivered", None)]


async def test_twilio_default_port_variant(callback_server) -> None:
    client, reports, _ = callback_server
    url = "https://bot.example.com:443/callbacks/twilio"
    form = {**TWILIO_FORM, "MessageStatus": "read"}
    response = await post_twilio(client, form, reference_signature(TWILIO_TOKEN, url, form))
    assert response.status_code == 204 and reports.seen[0][2] == "read"


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "AAAA",
        reference_signature("wrong-token", "https://bot.example.com/callbacks/twilio", TWILIO_FORM),
        reference_signature(TWILIO_TOKEN, "https://evil.example/callbacks/twilio", TWILIO_FORM),
    ],
)
async def test_twilio_bad_signatures_are_refused(callback_server, signature, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client, reports, _ = callback_server
    response = await post_twilio(client, TWILIO_FORM, signature)
    assert response.status_code == 403 and reports.seen == []
    assert TWILIO_TOKEN not in caplog.text


async def test_twilio_tampered_field_is_refused(callback_server) -> None:
    client, reports, _ = callback_server
    url = "https://bot.example.com/callbacks/twilio"
    signature = reference_signature(TWILIO_TOKEN, url, TWILIO_FORM)
    response = await post_twilio(client, {**TWILIO_FORM, "MessageStatus": "delivered"}, signature)
    assert response.status_code == 403 and reports.seen == []


async def test_twilio_interim_statuses_are_not_reported(callback_server) -> None:
    client, reports, _ = callback_server
    url = "https://bot.example.com/callbacks/twilio"
    for status in ("queued", "sending", "sent", "accepted"):
        form = {**TWILIO_FORM, "MessageStatus": status}
        response = await post_twilio(client, form, reference_signature(TWILIO_TOKEN, url, form))
        assert response.status_code == 204
    assert reports.seen == []


async def test_meta_verification_challenge(callback_server) -> None:
    client, _, _ = callback_server
    good = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    response = await client.get("/callbacks/meta", params=good)
    assert response.status_code == 200 and response.text == "1158201444"
    bad = await client.get("/callbacks/meta", params={**good, "hub.verify_token": "guess"})
    assert bad.status_code == 403 and "1158201444" not in bad.text
    wrong_mode = await client.get("/callbacks/meta", params={**good, "hub.mode": "unsubscribe"})
    assert wrong_mode.status_code == 403


def meta_notification(*statuses) -> bytes:
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "WABA1",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "34910000000",
                                    "phone_number_id": "1",
                                },
                                "statuses": list(statuses),
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()


def meta_headers(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}


async def test_meta_status_notifications(callback_server, caplog) -> None:
    caplog.set_level(logging.INFO)
    client, reports, _ = callback_server
    body = meta_notification(
        {
            "id": "wamid.A",
            "status": "delivered",
            "timestamp": "1700000000",
            "recipient_id": "34600111222",
        },
        {
            "id": "wamid.B",
            "status": "failed",
            "timestamp": "1700000001",
            "recipient_id": "34600111223",
            "errors": [{"code": 131047, "title": "Re-engagement message"}],
        },
        {"id": "wamid.C", "status": "sent", "timestamp": "1700000002"},
        {"id": "wamid.D", "status": "read", "timestamp": "1700000003"},
        "garbage",
    )
    response = await client.post("/callbacks/meta", content=body, headers=meta_headers(body))
    assert response.status_code == 200
    assert reports.seen == [
        ("meta", "wamid.A", "delivered", None),
        ("meta", "wamid.B", "failed", "131047"),
        ("meta", "wamid.D", "read", None),
    ]
    assert "meta message wamid.B failed: 131047 (re-engagement" in caplog.text


async def test_meta_bad_signature_and_bad_json(callback_server) -> None:
    client, reports, _ = callback_server
    body = meta_notification({"id": "wamid.A", "status": "delivered"})
    forged = await client.post(
        "/callbacks/meta", content=body, headers=meta_headers(body, "not-the-secret")
    )
    unsigned = await client.post("/callbacks/meta", content=body)
    garbage = b"{not json"
    bad_json = await client.post("/callbacks/meta", content=garbage, headers=meta_headers(garbage))
    assert (forged.status_code, unsigned.status_code, bad_json.status_code) == (403, 403, 400)
    assert reports.seen == []


async def test_outbox_like_receiver_and_missing_configuration(make_settings) -> None:
    class OutboxLike:
        def __init__(self) -> None:
            self.calls: list[tuple[str, str]] = []

        async def delivery_status(self, provider_id: str, state: str, code: str | None) -> bool:
            self.calls.append((provider_id, state))
            return False

    outbox = OutboxLike()
    server = await serve(outbox, make_settings())
    try:
        async with httpx.AsyncClient(base_url=str(server.make_url("/"))) as client:
            twilio = await post_twilio(client, TWILIO_FORM, "x")
            body = meta_notification({"id": "wamid.A", "status": "delivered"})
            meta = await client.post("/callbacks/meta", content=body, headers=meta_headers(body))
            challenge = await client.get(
                "/callbacks/meta",
                params={"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"},
            )
    finally:
        await server.close()
    assert (twilio.status_code, meta.status_code, challenge.status_code) == (403, 403, 403)
    assert outbox.calls == []


async def test_outbox_like_receiver_gets_statuses(gateway_settings) -> None:
    class OutboxLike:
        settings = gateway_settings

        def __init__(self) -> None:
            self.calls: list[tuple[str, str]] = []

        async def delivery_status(self, provider_id: str, state: str, code: str | None) -> bool:
            self.calls.append((provider_id, state))
            return False

    outbox = OutboxLike()
    server = await serve(outbox, None)
    try:
        async with httpx.AsyncClient(base_url=str(server.make_url("/"))) as client:
            body = meta_notification({"id": "wamid.Z", "status": "read"})
            response = await client.post(
                "/callbacks/meta", content=body, headers=meta_headers(body)
            )
    finally:
        await server.close()
    assert response.status_code == 200 and outbox.calls == [("wamid.Z", "read")]
