"""Gateway settings from a file and from ``CALLBOT_*`` variables; the body template filler."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from agi_callbot.config import load_settings
from agi_callbot.gateways import DryRunGateway, build_gateways
from agi_callbot.gateways.sms import HttpSmsGateway, Template
from agi_callbot.gateways.whatsapp import MetaWhatsAppGateway


async def test_gateways_from_file_and_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("WA_TOKEN", "t")
    config = tmp_path / "callbot.yaml"
    config.write_text(
        "gateways:\n"
        "  whatsapp: {provider: meta, phone_number_id: '123', token_env: WA_TOKEN}\n"
        "  email: {dry_run: true}\n"
        "templates:\n"
        "  encuesta: {language: es, params: 1}\n",
        encoding="utf-8",
    )
    environ = {
        "CALLBOT_GATEWAYS__SMS__URL": "http://127.0.0.1:9/send",
        "CALLBOT_GATEWAYS__SMS__BODY": '{"msisdn": "{to}", "msg": "{text}"}',
        "CALLBOT_GATEWAYS__SMS__SUCCESS_STATUS": "[200, 202]",
        "CALLBOT_GATEWAYS__WHATSAPP__BASE_URL": "http://127.0.0.1:9/v21.0",
    }
    settings = load_settings(config, environ=environ)
    gateways = build_gateways(settings)
    try:
        sms, whatsapp = gateways["sms"], gateways["whatsapp"]
        assert isinstance(sms, HttpSmsGateway) and isinstance(whatsapp, MetaWhatsAppGateway)
        assert sms.ok == frozenset({200, 202})
        assert sms.body is not None and sms.body.template == {"msisdn": "{to}", "msg": "{text}"}
        assert whatsapp.url == "http://127.0.0.1:9/v21.0/123/messages"
        assert isinstance(gateways["email"], DryRunGateway)
        assert isinstance(gateways["webhook"], DryRunGateway)
    finally:
        for gateway in gateways.values():
            await gateway.aclose()


values = st.text(max_size=40)


@given(to=values, sender=values, text=values, key=values)
def test_values_are_copied_verbatim_never_expanded(to, sender, text, key) -> None:
    template = Template(
        {"a": "{to}", "b": ["{from}", {"c": "x{text}y"}], "d": "{key}{{lit}}", "n": 3},
        "gateways.sms.body",
    )
    filled = template.fill({"to": to, "from": sender, "text": text, "key": key, "secret": "S"})
    assert filled == {
        "a": to,
        "b": [sender, {"c": f"x{text}y"}],
        "d": key + "{lit}",
        "n": 3,
    }
