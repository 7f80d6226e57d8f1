"""SMS gateways against a loopback provider: the request on the wire and every failure mode."""

from __future__ import annotations

import base64
import logging
import re

import pytest
from gateway_helpers import ProviderServer, sms

from agi_callbot.errors import ConfigError, GatewayError
from agi_callbot.gateways import DryRunGateway, Sent, build_gateways, probe
from agi_callbot.gateways.errors import ProviderError

TOKEN = "s3cr3t-token-value-123"


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SMS_TOKEN", TOKEN)
    monkeypatch.setenv("TWILIO_TOKEN", TOKEN)
    monkeypatch.setenv("TWILIO_SID", "AC0123456789abcdef")
    return TOKEN


async def http_sms(make_settings, provider: ProviderServer, **conf):
    settings = make_settings(
        {"sms": {"provider": "http", "base_url": provider.url, "path": "/api/send", **conf}}
    )
    return build_gateways(settings)["sms"]


async def test_unconfigured_channels_are_dry_run(make_settings, caplog) -> None:
    caplog.set_level(logging.INFO)
    gateways = build_gateways(make_settings())
    assert set(gateways) == {"sms", "whatsapp", "email", "webhook"}
    assert all(isinstance(g, DryRunGateway) for g in gateways.values())
    sent = await gateways["sms"].send(sms(), key="k1")
    assert sent == Sent("dry-run", "dry-run")
    assert "+34600111222" not in caplog.text and "dry-run sms" in caplog.text


async def test_generic_json_post_fills_placeholders(make_settings, provider, token) -> None:
    provider.reply(202, {"messages": [{"id": "abc-1"}]})
    gateway = await http_sms(
        make_settings, provider, auth_env="SMS_TOKEN", id_path="messages.0.id", **{"from": "Acme"}
    )
    try:
        sent = await gateway.send(sms(text='Hola {secret} {{x}} "q"'), key="call-1:b:0")
    finally:
        await gateway.aclose()
    assert sent == Sent("abc-1", "http")
    request = provider.requests[0]
    assert (request.method, request.path) == ("POST", "/api/send")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.json == {"to": "+34600111222", "from": "Acme", "text": 'Hola {secret} {{x}} "q"'}


async def test_generic_form_body_and_query_template(make_settings, provider, token) -> None:
    gateway = await http_sms(
        make_settings,
        provider,
        body_format="form",
        body={"dest": "{to}", "msg": "{text}", "ref": "{key}", "lit": "{{to}}"},
        query={"api": "v2"},
        auth_env="SMS_TOKEN",
        auth_scheme="Basic",
    )
    try:
        await gateway.send(sms(text="a&b=c"), key="K")
    finally:
        await gateway.aclose()
    request = provider.requests[0]
    assert request.form == {"dest": "+34600111222", "msg": "a&b=c", "ref": "K", "lit": "{to}"}
    assert request.query == {"api": "v2"}
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(TOKEN.encode()).decode()


async def test_kannel_style_get(make_settings, provider, token, caplog) -> None:
    caplog.set_level(logging.INFO)
    provider.reply(202, text="0: Accepted for delivery", content_type="text/plain")
    gateway = await http_sms(
        make_settings,
        provider,
        method="GET",
        path="/cgi-bin/sendsms",
        query={"username": "callbot", "password": "{secret}", "to": "{to}", "text": "{text}"},
        auth_env="SMS_TOKEN",
        auth_header="none",
        success_status=[202],
    )
    try:
        sent = await gateway.send(sms(text="Hola"), key="K")
    finally:
        await gateway.aclose()
    assert sent.provider_id is None
    request = provider.requests[0]
    assert request.method == "GET" and request.body == b""
    assert request.query == {
        "username": "callbot",
        "password": TOKEN,
        "to": "+34600111222",
        "text": "Hola",
    }
    assert "Authorization" not in request.headers
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "aiohttp.access")
    assert TOKEN not in ours and "600111222" not in ours  # httpx would log the query at INFO


async def test_status_outside_success_list_is_an_error(make_settings, provider) -> None:
    provider.reply(200, {"ok": False})
    gateway = await http_sms(make_settings, provider, success_status=[202])
    try:
        with pytest.raises(GatewayError) as info:
            await gateway.send(sms(), key="K")
    finally:
        await gateway.aclose()
    assert info.value.status == 200 and not info.value.retryable


@pytest.mark.parametrize(
    ("status", "headers", "retryable", "retry_after"),
    [
        (429, {"Retry-After": "7"}, True, 7.0),
        (429, {}, True, None),
        (500, {}, True, None),
        (503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, True, 0.0),
        (400, {}, False, None),
        (401, {}, False, None),
        (404, {}, False, None),
    ],
)
async def test_status_mapping(make_settings, provider, status, headers, retryable, retry_after):
    provider.reply(status, {"error": "nope"}, headers=headers)
    gateway = await http_sms(make_settings, provider)
    try:
        with pytest.raises(ProviderError) as info:
            await gateway.send(sms(), key="K")
    finally:
        await gateway.aclose()
    assert info.value.retryable is retryable
    assert info.value.status == status
    assert info.value.retry_after == retry_after


async def test_html_answers_are_reported_as_such(make_settings, provider) -> None:
    provider.reply(502, text="<html>Bad gateway</html>", content_type="text/html")
    provider.reply(200, text="<html>Welcome to nginx</html>", content_type="text/html")
    gateway = await http_sms(make_settings, provider, id_path="id")
    try:
        with pytest.raises(GatewayError) as first:
            await gateway.send(sms(), key="K")
        with pytest.raises(GatewayError) as second:
            await gateway.send(sms(), key="K")
    finally:
        await gateway.aclose()
    assert first.value.retryable and "text/html, not JSON" in str(first.value)
    assert not second.value.retryable and "check base_url" in str(second.value)


async def test_hanging_provider_times_out_retryably(make_settings, provider) -> None:
    provider.hang()
    gateway = await http_sms(make_settings, provider, timeout="200ms")
    try:
        with pytest.raises(GatewayError) as info:
            await gateway.send(sms(), key="K")
    finally:
        await gateway.aclose()
    assert info.value.retryable and info.value.code == "timeout"


async def test_unreachable_provider_is_retryable(make_settings, unused_tcp_port) -> None:
    settings = make_settings(
        {"sms": {"provider": "http", "url": f"http://127.0.0.1:{unused_tcp_port}/send"}}
    )
    gateway = build_gateways(settings)["sms"]
    try:
        with pytest.raises(GatewayError) as info:
            await gateway.send(sms(), key="K")
    finally:
        await gateway.aclose()
    assert info.value.retryable and info.value.code == "connect"


@pytest.mark.parametrize("to", ["anonymous", "600111222", "+3412", ""])
async def test_bad_recipient_is_permanent_and_not_sent(make_settings, provider, to) -> None:
    gateway = await http_sms(make_settings, provider)
    try:
        with pytest.raises(GatewayError) as info:
            await gateway.send(sms(to=to), key="K")
    finally:
        await gateway.aclose()
    assert not info.value.retryable and provider.requests == []


async def test_missing_text_is_permanent(make_settings, provider) -> None:
    gateway = await http_sms(make_settings, provider)
    try:
        with pytest.raises(GatewayError, match="no 'text'") as info:
            await gateway.send(sms(text=""), key="K")
    finally:
        await gateway.aclose()
    assert not info.value.retryable


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"provider": "carrier-pigeon"}, "'gateways.sms.provider': unknown provider"),
        ({"provider": "http"}, "'gateways.sms.url' (or base_url) is required"),
        ({"url": "ftp://x"}, "'gateways.sms.url': expected an http(s) URL"),
        ({"url": "http://x", "methd": "GET"}, "unknown setting 'gateways.sms.methd'"),
        ({"url": "http://x", "body": {"t": "{txt}"}}, "'gateways.sms.body.t': unknown placeholder"),
        ({"url": "http://x", "body": {"t": "{to.__class__}"}}, "unknown placeholder"),
        ({"url": "http://x", "auth_env": "NOT_SET_ANYWHERE"}, "'NOT_SET_ANYWHERE' is not set"),
        ({"url": "http://x", "timeout": "soon"}, "'gateways.sms.timeout': not a duration"),
        ({"url": "http://x", "dry_run": "yes"}, "'gateways.sms.dry_run': expected true or false"),
        ({"provider": "twilio", "auth_token_env": "TWILIO_TOKEN"}, "account_sid"),
    ],
)
def test_config_errors_name_the_key(make_settings, conf, message) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        build_gateways(make_settings({"sms": conf}))


def test_secret_in_settings_is_refused_without_echoing_it(make_settings) -> None:
    with pytest.raises(ConfigError) as info:
        build_gateways(make_settings({"sms": {"url": "http://x", "api_key": "hunter2"}}))
    assert "api_key_env" in str(info.value) and "hunter2" not in str(info.value)


def test_unknown_channel_is_refused(make_settings) -> None:
    with pytest.raises(ConfigError, match=r"gateways\.fax"):
        build_gateways(make_settings({"fax": {}}))


async def test_dry_run_flag_wins_over_provider_settings(make_settings) -> None:
    gateways = build_gateways(make_settings({"sms": {"provider": "twilio", "dry_run": True}}))
    assert isinstance(gateways["sms"], DryRunGateway)


# --- Twilio -----------------------------------------------------------------------------


def twilio_settings(make_settings, provider, **conf):
    base = {
        "provider": "twilio",
        "base_url": provider.url,
        "account_sid_env": "TWILIO_SID",
        "auth_token_env": "TWILIO_TOKEN",
        "from": "+34910000000",
    }
    return make_settings({"sms": {**base, **conf}})


async def test_twilio_sms_request(make_settings, provider, token) -> None:
    provider.reply(201, {"sid": "SM123", "status": "queued"})
    settings = twilio_settings(
        make_settings, provider, status_callback="https://bot.example/callbacks/twilio"
    )
    gateway = build_gateways(settings)["sms"]
    try:
        sent = await gateway.send(sms(), key="call-1:send_link:0")
    finally:
        await gateway.aclose()
    assert sent == Sent("SM123", "twilio")
    request = provider.requests[0]
    assert request.path == "/2010-04-01/Accounts/AC0123456789abcdef/Messages.json"
    assert request.form == {
        "To": "+34600111222",
        "From": "+34910000000",
        "Body": "Soporte Acme: https://acme.example/ayuda",
        "StatusCallback": "https://bot.example/callbacks/twilio",
    }
    expected = base64.b64encode(f"AC0123456789abcdef:{TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.headers["I-Twilio-Idempotency-Token"] == "call-1:send_link:0"


async def test_twilio_messaging_service_and_flow_sender(make_settings, provider, token) -> None:
    provider.reply(201, {"sid": "SM1"})
    provider.reply(201, {"sid": "SM2"})
    settings = make_settings(
        {
            "sms": {
                "provider": "twilio",
                "base_url": provider.url,
                "account_sid": "AC42",
                "auth_token_env": "TWILIO_TOKEN",
                "messaging_service_sid": "MG99",
            }
        }
    )
    gateway = build_gateways(settings)["sms"]
    try:
        await gateway.send(sms(), key="a")
        await gateway.send(sms(**{"from": "+34910000001"}), key="b")
    finally:
        await gateway.aclose()
    assert provider.requests[0].form["MessagingServiceSid"] == "MG99"
    assert "From" not in provider.requests[0].form
    assert provider.requests[1].form["From"] == "+34910000001"


TWILIO_21211 = {
    "code": 21211,
    "message": "The 'To' number +34600111222 is not a valid phone number.",
    "more_info": "https://www.twilio.com/docs/errors/21211",
    "status": 400,
}


@pytest.mark.parametrize(
    ("status", "body", "code", "retryable", "text"),
    [
        (400, TWILIO_21211, "21211", False, "invalid 'To' number"),
        (400, {**TWILIO_21211, "code": 21614}, "21614", False, "not a mobile number"),
        (401, {"code": 20003, "message": "Authenticate", "status": 401}, "20003", False, "auth"),
        (429, {"code": 20429, "message": "Too Many Requests"}, "20429", True, "many"),
        (400, {"code": 99999, "message": "New 600111222 thing"}, "99999", False, "HTTP 400"),
        (503, {"code": 20500, "message": "Internal"}, "20500", True, "HTTP 503"),
    ],
)
async def test_twilio_errors(make_settings, provider, token, status, body, code, retryable, text):
    provider.reply(status, body)
    gateway = build_gateways(twilio_settings(make_settings, provider))["sms"]
    try:
        with pytest.raises(GatewayError) as info:
            await gateway.send(sms(), key="K")
    finally:
        await gateway.aclose()
    assert info.value.code == code and info.value.retryable is retryable
    assert info.value.status == status
    assert text in str(info.value)
    assert "600111222" not in str(info.value)


async def test_secrets_never_in_logs_or_errors(make_settings, provider, token, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    provider.reply(401, {"code": 20003, "message": f"bad credentials {TOKEN}"})
    provider.hang()
    settings = twilio_settings(make_settings, provider, timeout="200ms")
    gateway = build_gateways(settings)["sms"]
    errors = []
    try:
        for _ in range(2):
            with pytest.raises(GatewayError) as info:
                await gateway.send(sms(), key="K")
            errors.append(info.value)
    finally:
        await gateway.aclose()
    provider.reply(200, text="<html>oops</html>", content_type="text/html")
    http = await http_sms(make_settings, provider, auth_env="SMS_TOKEN", id_path="id")
    try:
        with pytest.raises(GatewayError) as info:
            await http.send(sms(), key="K")
        errors.append(info.value)
    finally:
        await http.aclose()
    for error in errors:
        assert TOKEN not in str(error) and TOKEN not in repr(error.args)
        assert error.__cause__ is None
    assert TOKEN not in caplog.text
    assert "600111222" not in caplog.text


async def test_provider_echoing_the_secret_is_blanked(make_settings, provider, token) -> None:
    provider.reply(400, {"message": f"bad password {TOKEN} for user callbot"})
    gateway = await http_sms(
        make_settings, provider, query={"pw": "{secret}"}, auth_env="SMS_TOKEN"
    )
    try:
        with pytest.raises(GatewayError) as info:
            await gateway.send(sms(), key="K")
    finally:
        await gateway.aclose()
    assert TOKEN not in str(info.value) and "bad password *** for user" in str(info.value)


async def test_long_keys_become_a_stable_twilio_token(make_settings, provider, token) -> None:
    provider.reply(201, {"sid": "SM1"})
    provider.reply(201, {"sid": "SM2"})
    gateway = build_gateways(twilio_settings(make_settings, provider))["sms"]
    base = "1700000000.123456:a_rather_long_block_name:0/fallback/1"
    try:
        await gateway.send(sms(), key=base + "/fallback/1")
        await gateway.send(sms(), key=base + "/fallback/2")
    finally:
        await gateway.aclose()
    tokens = [r.headers["I-Twilio-Idempotency-Token"] for r in provider.requests]
    assert all(len(t) == 64 for t in tokens) and tokens[0] != tokens[1]


async def test_probe_reports_unreachable_providers(make_settings, provider, unused_tcp_port):
    settings = make_settings(
        {
            "sms": {"provider": "http", "url": provider.url + "/send"},
            "webhook": {"url": f"http://127.0.0.1:{unused_tcp_port}/hook"},
        }
    )
    gateways = build_gateways(settings)
    try:
        results = await probe(gateways)
    finally:
        for gateway in gateways.values():
            await gateway.aclose()
    assert results["sms"] is None and results["email"] is None
    assert results["webhook"].startswith(f"http: cannot connect to 127.0.0.1:{unused_tcp_port}")
    assert provider.requests == []
