"""Pure parts of the runtime: call variables from the env block, text cleaning, the
messages actions become."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agi_callbot.agi.env import Environment
from agi_callbot.errors import UnsetVariable
from agi_callbot.flow.blocks.actions import message_fields, render
from agi_callbot.flow.blocks.call import MAX_VALUE, call_variables, clean_text
from agi_callbot.flow.model import Email, OptIn, Sms, Webhook, WhatsApp
from agi_callbot.services import fallback_entry, read_fallback_entry


def env(**fields) -> Environment:
    base = {
        "network_script": "soporte",
        "channel": "PJSIP/trunk-00000001",
        "uniqueid": "1795515630.7",
        "callerid": "600111222",
        "calleridname": "Ana",
        "dnid": "910000000",
    }
    return Environment(**{**base, **fields})


def test_caller_becomes_e164_with_the_region():
    got = call_variables(env(), language="es", region="ES")
    assert got["caller"] == "+34600111222"
    assert got["caller_name"] == "Ana"
    assert got["dnid"] == "910000000"
    assert got["uniqueid"] == "1795515630.7"
    assert got["channel"] == "PJSIP/trunk-00000001"
    assert got["language"] == "es"


@pytest.mark.parametrize("raw", ["anonymous", "unknown", "", "Restricted", "12"])
def test_withheld_or_invalid_numbers_are_empty(raw):
    assert call_variables(env(callerid=raw), language="es", region="ES")["caller"] == ""


def test_unknown_name_and_dnid_are_empty():
    got = call_variables(env(calleridname="unknown", dnid="unknown"), language="es", region="ES")
    assert got["caller_name"] == "" and got["dnid"] == ""


def test_query_and_args_become_variables_but_never_replace_built_ins():
    got = call_variables(
        env(
            network_script="soporte?caller=%2B1999&campaign=spring&bad-name=1&x=a%0Ab",
            args=("uno", "dos"),
        ),
        language="es",
        region="ES",
    )
    assert got["caller"] == "+34600111222"
    assert got["campaign"] == "spring"
    assert "bad-name" not in got
    assert got["x"] == "a b"
    assert (got["arg1"], got["arg2"]) == ("uno", "dos")


@given(st.text())
def test_clean_text_never_leaves_control_characters(text):
    cleaned = clean_text(text)
    assert not any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in cleaned)
    assert "\u2028" not in cleaned and len(cleaned) <= MAX_VALUE


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)) | st.text())
def test_clean_text_of_plain_text_is_the_general_rule(text):
    """Printable ASCII skips the per-character look-up; the result must be the same."""
    general = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    assert clean_text(text) == " ".join(general.split())[:MAX_VALUE]


def test_caller_name_with_an_injected_line_is_one_line():
    got = call_variables(env(calleridname="Ana\r\nagi_extension: 666"), language="es", region="ES")
    assert got["caller_name"] == "Ana agi_extension: 666"


VARS = {"caller": "+34600111222", "caller_name": "Ana", "account": "42"}


def test_message_fields_per_channel():
    assert message_fields(Sms(text="Hola ${caller_name}", sender="+34910000000"), VARS) == (
        "sms",
        "+34600111222",
        {"text": "Hola Ana", "from": "+34910000000"},
    )
    assert message_fields(
        WhatsApp(template="encuesta", language="es", params=("${caller_name}",)), VARS
    ) == ("whatsapp", "+34600111222", {"template": "encuesta", "language": "es", "params": ["Ana"]})
    channel, to, payload = message_fields(
        Email(to="ops@acme.example", subject="Call from ${caller}", body="b"), VARS
    )
    assert (channel, to, payload["subject"]) == (
        "email",
        "ops@acme.example",
        "Call from +34600111222",
    )
    assert "from" not in payload
    assert message_fields(
        Webhook(
            url="https://crm.example/a/${account}",
            body={"who": ["${caller}", 1]},
            headers={"X-Call": "${account}"},
        ),
        VARS,
    ) == (
        "webhook",
        "https://crm.example/a/42",
        {"data": {"who": ["+34600111222", 1]}, "method": "POST", "headers": {"X-Call": "42"}},
    )


def test_whatsapp_free_text_inside_the_window():
    spec = WhatsApp(template=None, language="es", text="Hola ${caller_name}", window_open=True)
    assert message_fields(spec, VARS) == (
        "whatsapp",
        "+34600111222",
        {"text": "Hola Ana", "language": "es", "window_open": True},
    )


def test_a_fallback_entry_is_flat_as_the_outbox_reads_it():
    entry = fallback_entry(*message_fields(Sms(text="t ${account}"), VARS))
    assert entry == {"channel": "sms", "to": "+34600111222", "text": "t 42"}
    assert read_fallback_entry(entry) == ("sms", {"to": "+34600111222", "text": "t 42"})
    assert read_fallback_entry({"sms": {"text": "x"}}) == ("sms", {"text": "x"})
    for bad in ("sms", {"sms": "x"}, {"sms": {}, "email": {}}):
        with pytest.raises(ValueError):
            read_fallback_entry(bad)


def test_unset_variables_raise_and_defaults_apply():
    with pytest.raises(UnsetVariable):
        render({"a": "${missing}"}, VARS)
    assert render(["${missing:-none}"], VARS) == ["none"]


def test_not_a_message_action_is_refused():
    with pytest.raises(TypeError):
        message_fields(OptIn(channel="whatsapp"), VARS)
