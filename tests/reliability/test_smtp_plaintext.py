"""Issue 14.7: SMTP never sends a password in the clear unless told to.

Found: ``security: none`` with a username sent AUTH PLAIN over plain TCP without a word.
Now that is a start-up error unless ``allow_plaintext_auth: true`` (a relay on the same
host or a trusted LAN), and then a warning at start says so.
"""

from __future__ import annotations

import logging
import warnings

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from agi_callbot.config import load_settings
from agi_callbot.errors import ConfigError
from agi_callbot.gateways import build_gateways
from agi_callbot.services import Message

PASSWORD = "smtp-pass-123"


class Inbox:
    def __init__(self) -> None:
        self.auth: list[bytes] = []
        self.envelopes: list[object] = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted"


def gateways(tmp_path, **conf):
    settings = load_settings(
        None,
        overrides={
            "data_dir": str(tmp_path),
            "gateways": {"email": {"host": "127.0.0.1", "from": "bot@acme.example", **conf}},
        },
        environ={},
    )
    return build_gateways(settings)


def test_plaintext_auth_is_refused_at_start(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    with pytest.raises(ConfigError) as info:
        gateways(tmp_path, port=25, security="none", username="bot", password_env="SMTP_PASSWORD")
    text = str(info.value)
    assert "gateways.email" in text and "allow_plaintext_auth" in text
    assert PASSWORD not in text


def test_without_a_username_plain_smtp_is_fine(tmp_path) -> None:
    gateways(tmp_path, port=25, security="none")  # a local relay that needs no login


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_allowed_plaintext_auth_warns_and_works(
    tmp_path, monkeypatch, caplog, unused_tcp_port
):
    caplog.set_level(logging.INFO)
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    inbox = Inbox()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        controller = Controller(
            inbox,
            hostname="127.0.0.1",
            port=unused_tcp_port,
            authenticator=authenticator,
            auth_require_tls=False,
            auth_required=True,
        )
    controller.start()
    try:
        gw = gateways(
            tmp_path,
            port=unused_tcp_port,
            security="none",
            username="bot",
            password_env="SMTP_PASSWORD",
            allow_plaintext_auth=True,
        )["email"]
        await gw.send(Message("email", "ana@example.com", {"subject": "s", "text": "t"}), key="k")
    finally:
        controller.stop()
    assert len(inbox.envelopes) == 1
    warned = [
        r for r in caplog.records if r.levelno == logging.WARNING and "clear" in r.getMessage()
    ]
    assert len(warned) == 1 and "127.0.0.1" in warned[0].getMessage()
    assert PASSWORD not in caplog.text


def test_the_flag_is_a_boolean(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    with pytest.raises(ConfigError, match="allow_plaintext_auth"):
        gateways(
            tmp_path,
            security="none",
            username="bot",
            password_env="SMTP_PASSWORD",
            allow_plaintext_auth="yes",
        )
