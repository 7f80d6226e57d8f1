"""Outbox (SQLite) + real gateways + loopback providers + status callbacks, together."""

from __future__ import annotations

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from agi_callbot.gateways import build_gateways
from agi_callbot.gateways.callbacks import routes, twilio_signature
from agi_callbot.gateways.http import wire_key
from agi_callbot.outbox.service import Outbox
from agi_callbot.services import Message

META_131047 = {
    "error": {
        "message": "(#131047) Re-engagement message",
        "type": "OAuthException",
        "code": 131047,
        "fbtrace_id": "Ab",
    }
}


@pytest.fixture
def settings(make_settings, provider, monkeypatch):
    monkeypatch.setenv("TWILIO_TOKEN", "tw-token")
    monkeypatch.setenv("WA_TOKEN", "wa-token")
    monkeypatch.setenv("WA_APP_SECRET", "wa-app-secret")
    return make_settings(
        {
            "sms": {
                "provider": "twilio",
                "base_url": provider.url,
                "account_sid": "AC9",
                "auth_token_env": "TWILIO_TOKEN",
                "from": "+34910000000",
            },
            "whatsapp": {
                "provider": "meta",
                "base_url": provider.url,
                "phone_number_id": "77",
                "token_env": "WA_TOKEN",
                "app_secret_env": "WA_APP_SECRET",
            },
        },
        templates={"encuesta": {"language": "es", "params": 1, "category": "utility"}},
    )


async def test_whatsapp_outside_window_falls_back_to_sms_then_delivered(settings, provider):
    gateways = build_gateways(settings)
    outbox = Outbox.from_settings(settings, gateways)
    await outbox.open()
    try:
        await outbox.optins.record("+34600111222", "whatsapp", "menu soporte/2")
        provider.reply(400, META_131047)
        provider.reply(201, {"sid": "SM777", "status": "queued"})
        message = Message(
            "whatsapp",
            "600 11 12 22",
            {"template": "encuesta", "language": "es", "params": ["Ana"]},
            call_uniqueid="1700000000.5",
            flow="soporte",
            block="consent_yes",
            fallback=({"sms": {"text": "Encuesta: https://acme.example/e"}},),
        )
        first = await outbox.enqueue(message, "1700000000.5:consent_yes:0")
        await outbox.run_once()
        await outbox.run_once()
        whatsapp = await outbox.get(first)
        assert whatsapp.status == "failed" and "131047" in whatsapp.reason
        sent = await outbox.list("sent")
        assert [(m.channel, m.provider_id) for m in sent] == [("sms", "SM777")]

        wa_request, sms_request = provider.requests
        assert wa_request.path == "/77/messages"
        assert wa_request.json["template"]["components"][0]["parameters"][0]["text"] == "Ana"
        assert sms_request.form["To"] == "+34600111222"
        assert sms_request.form["Body"] == "Encuesta: https://acme.example/e"
        assert sms_request.headers["I-Twilio-Idempotency-Token"] == wire_key(sent[0].key)

        app = web.Application()
        app.add_routes(routes(outbox, settings))
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            url = str(server.make_url("/callbacks/twilio"))
            form = {"MessageSid": "SM777", "MessageStatus": "delivered", "AccountSid": "AC9"}
            signature = twilio_signature("tw-token", url, form.items())
            async with httpx.AsyncClient() as client:
                response = await client.post(
                    url, data=form, headers={"X-Twilio-Signature": signature}
                )
        finally:
            await server.close()
        assert response.status_code == 204
        assert (await outbox.get(sent[0].id)).delivery == "delivered"
    finally:
        await outbox.aclose()
        for gateway in gateways.values():
            await gateway.aclose()
