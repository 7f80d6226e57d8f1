"""WhatsApp gateways (Meta Cloud API, Twilio) and the template registry."""

from __future__ import annotations

import json
import logging

import pytest
from gateway_helpers import ProviderServer

from agi_callbot.errors import ConfigError, GatewayError
from agi_callbot.gateways import Sent, build_gateways
from agi_callbot.services import Message
from agi_callbot.whatsapp_templates import WINDOW_RULE, check_message, check_template

TOKEN = "EAAG-meta-token-very-secret"
TEMPLATES = {
    "encuesta": {"language": "es", "params": 1, "category": "utility", "content_sid": "HX111"},
    "aviso": {
        "language": ["es", "en_US"],
        "params": 2,
        "content_sid": {"es": "HX2", "en_US": "HX3"},
    },
    "hola": {"language": "es", "params": 0, "content_sid": "HX0"},
}
META_OK = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": "+34600111222", "wa_id": "34600111222"}],
    "messages": [{"id": "wamid.HBgLMzQ2MDAxMTEyMjIVAgARGBI"}],
}


def meta_error(code: int, message: str, details: str | None = None) -> dict:
    error: dict = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Ab"}
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": error}


def whatsapp(**payload) -> Message:
    return Message("whatsapp", "+34600111222", payload, call_uniqueid="1700000000.1")


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WA_TOKEN", TOKEN)
    monkeypatch.setenv("TWILIO_TOKEN", TOKEN)


@pytest.fixture
def meta_settings(make_settings, provider: ProviderServer, secrets):
    conf = {
        "provider": "meta",
        "base_url": provider.url,
        "phone_number_id": "1234567890",
        "token_env": "WA_TOKEN",
        "timeout": "300ms",
    }
    return make_settings({"whatsapp": conf}, templates=TEMPLATES)


@pytest.fixture
async def meta(meta_settings):
    gateway = build_gateways(meta_settings)["whatsapp"]
    yield gateway
    await gateway.aclose()


@pytest.fixture
async def twilio(make_settings, provider: ProviderServer, secrets):
    conf = {
        "provider": "twilio",
        "base_url": provider.url,
        "account_sid": "AC1",
        "auth_token_env": "TWILIO_TOKEN",
        "from": "+34910000000",
    }
    gateway = build_gateways(make_settings({"whatsapp": conf}, templates=TEMPLATES))["whatsapp"]
    yield gateway
    await gateway.aclose()


async def test_meta_template_request(meta, provider) -> None:
    provider.reply(200, META_OK)
    sent = await meta.send(whatsapp(template="encuesta", language="es", params=["Ana"]), key="k")
    assert sent == Sent("wamid.HBgLMzQ2MDAxMTEyMjIVAgARGBI", "meta")
    request = provider.requests[0]
    assert (request.method, request.path) == ("POST", "/1234567890/messages")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+34600111222",
        "type": "template",
        "template": {
            "name": "encuesta",
            "language": {"code": "es"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}],
        },
    }


async def test_meta_language_defaults_and_matches_registry_spelling(meta, provider) -> None:
    provider.reply(200, META_OK)
    provider.reply(200, META_OK)
    await meta.send(whatsapp(template="hola"), key="a")
    await meta.send(whatsapp(template="aviso", language="en-us", params=["x", "y"]), key="b")
    assert provider.requests[0].json["template"] == {"name": "hola", "language": {"code": "es"}}
    assert provider.requests[1].json["template"]["language"] == {"code": "en_US"}


async def test_meta_free_form_only_inside_the_window(meta, provider) -> None:
    provider.reply(200, META_OK)
    await meta.send(whatsapp(text="¿Le ayudamos?", window_open=True), key="a")
    assert provider.requests[0].json["type"] == "text"
    assert provider.requests[0].json["text"] == {"preview_url": False, "body": "¿Le ayudamos?"}
    with pytest.raises(GatewayError) as info:
        await meta.send(whatsapp(text="¿Le ayudamos?"), key="b")
    assert not info.value.retryable and info.value.code == "window"
    assert len(provider.requests) == 1


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"template": "nope"}, "'nope' is not in the template registry (aviso, encuesta, hola)"),
        ({"template": "encuesta", "params": []}, "takes 1 parameter(s), got 0"),
        ({"template": "encuesta", "params": ["a", "b"]}, "takes 1 parameter(s), got 2"),
        ({"template": "encuesta", "params": ["  "]}, "parameter 1 is empty"),
        ({"template": "encuesta", "language": "fr", "params": ["a"]}, "language 'fr'"),
        ({}, "no 'text'"),
    ],
)
async def test_registry_refuses_before_any_request(meta, provider, payload, message) -> None:
    with pytest.raises(GatewayError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        await meta.send(whatsapp(**payload), key="k")
    assert not info.value.retryable
    assert provider.requests == []


@pytest.mark.parametrize(
    ("status", "body", "code", "retryable", "text"),
    [
        (
            400,
            meta_error(
                131047,
                "(#131047) Re-engagement message",
                "Message failed to send because more than 24 hours have passed",
            ),
            "131047",
            False,
            "re-engagement",
        ),
        (
            400,
            meta_error(
                132000,
                "(#132000) Number of parameters does not match",
                "body: number of localizable_params (2) does not match (1)",
            ),
            "132000",
            False,
            "parameter count",
        ),
        (
            404,
            meta_error(132001, "(#132001) Template name does not exist in the translation"),
            "132001",
            False,
            "does not exist",
        ),
        (
            400,
            meta_error(131026, "(#131026) Message undeliverable"),
            "131026",
            False,
            "undeliverable",
        ),
        (400, meta_error(130429, "(#130429) Rate limit hit"), "130429", True, "rate limit"),
        (429, meta_error(131056, "(#131056) Pair rate limit hit"), "131056", True, "pair"),
        (400, meta_error(131048, "(#131048) Spam rate limit hit"), "131048", True, "spam"),
        (
            401,
            meta_error(190, f"Error validating access token: {TOKEN} expired"),
            "190",
            False,
            "renew the token named by token_env",
        ),
        (500, meta_error(131000, "Something went wrong"), "131000", True, "went wrong"),
        (400, meta_error(100, "(#100) Invalid parameter"), "100", False, "invalid parameter"),
        (400, meta_error(424242, "(#424242) Brand new 34600111222"), "424242", False, "HTTP 400"),
    ],
)
async def test_meta_errors(meta, provider, caplog, status, body, code, retryable, text):
    caplog.set_level(logging.DEBUG)
    provider.reply(status, body)
    with pytest.raises(GatewayError) as info:
        await meta.send(whatsapp(template="encuesta", params=["Ana"]), key="k")
    assert (info.value.code, info.value.retryable, info.value.status) == (code, retryable, status)
    assert text in str(info.value)
    assert TOKEN not in str(info.value) and TOKEN not in caplog.text
    assert "600111222" not in str(info.value)


async def test_meta_timeout_is_retryable(meta, provider) -> None:
    provider.hang()
    with pytest.raises(GatewayError) as info:
        await meta.send(whatsapp(template="hola"), key="k")
    assert info.value.retryable and info.value.code == "timeout"


async def test_meta_success_without_message_id(meta, provider) -> None:
    provider.reply(200, {"messaging_product": "whatsapp"})
    with pytest.raises(GatewayError, match=r"no messages\[0\]\.id") as info:
        await meta.send(whatsapp(template="hola"), key="k")
    assert not info.value.retryable


async def test_twilio_whatsapp_template(twilio, provider) -> None:
    provider.reply(201, {"sid": "MM1"})
    sent = await twilio.send(
        whatsapp(template="aviso", language="en_US", params=["Ana", "ñ"]), key="call:b:1"
    )
    assert sent == Sent("MM1", "twilio")
    request = provider.requests[0]
    assert request.path == "/2010-04-01/Accounts/AC1/Messages.json"
    assert request.headers["I-Twilio-Idempotency-Token"] == "call:b:1"
    form = request.form
    assert form["To"] == "whatsapp:+34600111222" and form["From"] == "whatsapp:+34910000000"
    assert form["ContentSid"] == "HX3"
    assert json.loads(form["ContentVariables"]) == {"1": "Ana", "2": "ñ"}
    assert "Body" not in form


async def test_twilio_whatsapp_free_form_and_63016(twilio, provider) -> None:
    provider.reply(201, {"sid": "MM2"})
    provider.reply(
        400,
        {
            "code": 63016,
            "status": 400,
            "message": "Failed to send freeform "
            "message because you are outside the allowed window.",
        },
    )
    await twilio.send(whatsapp(text="Hola", window_open=True), key="a")
    assert provider.requests[0].form["Body"] == "Hola"
    assert "ContentSid" not in provider.requests[0].form
    with pytest.raises(GatewayError) as info:
        await twilio.send(whatsapp(text="Hola", window_open=True), key="b")
    assert info.value.code == "63016" and not info.value.retryable
    assert "customer-service window" in str(info.value)


async def test_twilio_whatsapp_needs_content_sid(make_settings, provider, secrets) -> None:
    conf = {
        "provider": "twilio",
        "base_url": provider.url,
        "account_sid": "AC1",
        "auth_token_env": "TWILIO_TOKEN",
        "messaging_service_sid": "MG1",
    }
    templates = {"x": {"language": "es", "params": 0}}
    gateway = build_gateways(make_settings({"whatsapp": conf}, templates=templates))["whatsapp"]
    try:
        with pytest.raises(GatewayError, match="no content_sid"):
            await gateway.send(whatsapp(template="x"), key="k")
    finally:
        await gateway.aclose()
    assert provider.requests == []


def test_check_template_for_the_flow_validator(make_settings) -> None:
    settings = make_settings(templates=TEMPLATES)
    assert check_template(settings, "encuesta", "es", ["${caller_name}"]) is None
    assert check_template(settings, "encuesta", None, 1) is None
    assert check_template(settings, "aviso", "en_US", 2) is None
    assert check_template(settings, "encuesta", "es", "${caller_name}") is None
    assert "takes 2 parameter(s), got 1" in check_template(settings, "aviso", "es", ["a"])
    assert "not in the template registry" in check_template(settings, "x", "es", [])
    assert "registered: es, en_US" in check_template(settings, "aviso", "de", 2)
    assert check_message(settings, {"text": "hola"}) == WINDOW_RULE
    assert check_message(settings, {"text": "hola", "window_open": True}) is None
    assert check_message(settings, {"template": "hola"}) is None
    assert "needs a template" in check_message(settings, {})


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("es", "'templates.bad': expected a mapping"),
        ({"params": 1}, "'templates.bad.language'"),
        ({"language": "es", "params": -1}, "'templates.bad.params'"),
        ({"language": "es", "params": "2"}, "'templates.bad.params'"),
        ({"language": "es", "category": "promo"}, "'templates.bad.category'"),
        ({"language": "es", "param": 1}, "unknown setting 'templates.bad.param'"),
    ],
)
def test_bad_registry_entries(make_settings, secrets, entry, message) -> None:
    settings = make_settings(templates={"bad": entry})
    assert message in check_template(settings, "bad", "es", 0)
    conf = {"provider": "meta", "phone_number_id": "1", "token_env": "WA_TOKEN"}
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        build_gateways(make_settings({"whatsapp": conf}, templates={"bad": entry}))


def test_meta_config_errors(make_settings, secrets) -> None:
    with pytest.raises(ConfigError, match=r"'gateways\.whatsapp\.phone_number_id' is required"):
        build_gateways(make_settings({"whatsapp": {"provider": "meta", "token_env": "WA_TOKEN"}}))
    with pytest.raises(ConfigError, match="'NOPE' is not set"):
        build_gateways(make_settings({"whatsapp": {"phone_number_id": "1", "token_env": "NOPE"}}))
    with pytest.raises(ConfigError, match="token_env"):
        build_gateways(make_settings({"whatsapp": {"phone_number_id": "1", "token": TOKEN}}))
