"""Email through a real SMTP server (aiosmtpd on loopback): plain, AUTH, STARTTLS, TLS."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import logging
import ssl
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from agi_callbot.errors import ConfigError, GatewayError
from agi_callbot.gateways import build_gateways
from agi_callbot.services import Message

PASSWORD = "smtp-pass-not-for-logs"


class Inbox:
    """aiosmtpd handler: keeps what arrives; RCPT answers can be scripted per address."""

    def __init__(self) -> None:
        self.envelopes: list = []
        self.rcpt_replies: dict[str, str] = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def message(self, index: int = -1):
        return email.message_from_bytes(self.envelopes[index].content, policy=email.policy.default)


def authenticator(server, session, envelope, mechanism, auth_data):
    """handled=False: aiosmtpd itself answers 535 on failure."""
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def cert(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def server_tls(cert: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*cert)
    return context


@pytest.fixture
def smtp(unused_tcp_port):
    """Start an aiosmtpd server with the given options; stopped at the end of the test."""
    started: list[Controller] = []

    def start(inbox: Inbox, **kwargs) -> int:
        controller = Controller(inbox, hostname="127.0.0.1", port=unused_tcp_port, **kwargs)
        controller.start()
        started.append(controller)
        return unused_tcp_port

    yield start
    for controller in started:
        controller.stop()


def mail(to: str = "ana@example.com", **payload) -> Message:
    fields = {"subject": "Su consulta", "text": "Hola Ana, aquí tiene el enlace.", **payload}
    return Message("email", to, fields)


def gateway(make_settings, **conf):
    settings = make_settings(
        {"email": {"host": "127.0.0.1", "from": "Acme <bot@acme.example>", "timeout": "2s", **conf}}
    )
    return build_gateways(settings)["email"]


def plain_login(make_settings, port: int):
    """A gateway that logs in without TLS (allowed explicitly: a test relay on loopback)."""
    return gateway(
        make_settings,
        port=port,
        username="bot",
        password_env="SMTP_PASSWORD",
        allow_plaintext_auth=True,
    )


async def test_plain_text_and_html(make_settings, smtp) -> None:
    inbox = Inbox()
    port = smtp(inbox)
    email_gw = gateway(make_settings, port=port)
    sent = await email_gw.send(mail(html="<p>Hola <b>Ana</b></p>"), key="call-1:b:0")
    envelope = inbox.envelopes[0]
    assert envelope.mail_from == "bot@acme.example"
    assert envelope.rcpt_tos == ["ana@example.com"]
    received = inbox.message()
    assert received["Subject"] == "Su consulta"
    assert received["From"] == "Acme <bot@acme.example>"
    assert received["Message-ID"] == sent.provider_id
    assert sent.provider_id.endswith("@acme.example>")
    assert received.get_content_type() == "multipart/alternative"
    assert received.get_body(("plain",)).get_content().strip() == "Hola Ana, aquí tiene el enlace."
    assert "<b>Ana</b>" in received.get_body(("html",)).get_content()


async def test_message_id_follows_the_idempotency_key(make_settings, smtp) -> None:
    inbox = Inbox()
    email_gw = gateway(make_settings, port=smtp(inbox))
    first = await email_gw.send(mail(), key="k1")
    again = await email_gw.send(mail(), key="k1")
    other = await email_gw.send(mail(), key="k2")
    assert first == again and first != other
    assert inbox.message(0).get_content_type() == "text/plain"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_auth_without_tls(make_settings, smtp, monkeypatch, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    inbox = Inbox()
    port = smtp(inbox, authenticator=authenticator, auth_require_tls=False, auth_required=True)
    good = plain_login(make_settings, port)
    await good.send(mail(), key="a")
    assert len(inbox.envelopes) == 1
    monkeypatch.setenv("SMTP_PASSWORD", "wrong")
    bad = plain_login(make_settings, port)
    with pytest.raises(GatewayError) as info:
        await bad.send(mail(), key="b")
    assert not info.value.retryable and "authentication failed" in str(info.value)
    assert PASSWORD not in caplog.text and "wrong" not in str(info.value)


async def test_starttls_with_auth(make_settings, smtp, cert, monkeypatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    inbox = Inbox()
    port = smtp(
        inbox,
        tls_context=server_tls(cert),
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    email_gw = gateway(
        make_settings,
        port=port,
        security="starttls",
        ca_file=str(cert[0]),
        username="bot",
        password_env="SMTP_PASSWORD",
    )
    await email_gw.send(mail(), key="a")
    assert inbox.envelopes[0].rcpt_tos == ["ana@example.com"]


async def test_server_requiring_starttls_refuses_a_plain_client(make_settings, smtp, cert) -> None:
    inbox = Inbox()
    port = smtp(inbox, tls_context=server_tls(cert), require_starttls=True)
    email_gw = gateway(make_settings, port=port, security="none")
    with pytest.raises(GatewayError) as info:
        await email_gw.send(mail(), key="a")
    assert not info.value.retryable and info.value.code == "530"
    assert inbox.envelopes == []


async def test_starttls_with_an_untrusted_certificate(make_settings, smtp, cert) -> None:
    port = smtp(Inbox(), tls_context=server_tls(cert), require_starttls=True)
    email_gw = gateway(make_settings, port=port, security="starttls")
    with pytest.raises(GatewayError) as info:
        await email_gw.send(mail(), key="a")
    assert str(info.value) == "smtp: TLS failed (CERTIFICATE_VERIFY_FAILED)"
    assert info.value.code == "tls" and not info.value.retryable


async def test_implicit_tls(make_settings, smtp, cert) -> None:
    inbox = Inbox()
    port = smtp(inbox, ssl_context=server_tls(cert))
    email_gw = gateway(make_settings, port=port, security="tls", ca_file=str(cert[0]))
    await email_gw.send(mail(), key="a")
    assert len(inbox.envelopes) == 1


@pytest.mark.parametrize(
    ("reply", "retryable", "code"),
    [("450 4.2.1 Mailbox busy", True, "450"), ("550 5.1.1 No such user", False, "550")],
)
async def test_recipient_refusals(make_settings, smtp, reply, retryable, code) -> None:
    inbox = Inbox()
    inbox.rcpt_replies["ana@example.com"] = reply
    email_gw = gateway(make_settings, port=smtp(inbox))
    with pytest.raises(GatewayError) as info:
        await email_gw.send(mail(), key="a")
    assert info.value.retryable is retryable and info.value.code == code


async def test_unreachable_server_is_retryable(make_settings, unused_tcp_port) -> None:
    email_gw = gateway(make_settings, port=unused_tcp_port)
    with pytest.raises(GatewayError) as info:
        await email_gw.send(mail(), key="a")
    assert info.value.retryable


@pytest.mark.parametrize(
    ("message", "match"),
    [
        (mail(subject="Hola\r\nBcc: victim@example.com"), "linefeed|carriage"),
        (mail(to="not-an-address"), "not one email address"),
        (mail(to="a@example.com, b@example.com"), "not one email address"),
        (mail(to="ana@example.com\r\nBcc: x@example.com"), "linefeed|carriage"),
        (mail(text="", body=None), "no 'text'"),
    ],
)
async def test_bad_messages_are_permanent_and_not_sent(make_settings, smtp, message, match):
    inbox = Inbox()
    email_gw = gateway(make_settings, port=smtp(inbox))
    with pytest.raises(GatewayError, match=match) as info:
        await email_gw.send(message, key="a")
    assert not info.value.retryable and inbox.envelopes == []


@pytest.mark.parametrize(
    ("conf", "match"),
    [
        ({"security": "ssl"}, r"'gateways\.email\.security': expected one of"),
        ({"from": "nobody"}, r"'gateways\.email\.from': expected an email address"),
        ({"username": "bot", "password_env": "UNSET_SMTP_PW"}, "'UNSET_SMTP_PW' is not set"),
        ({"username": "bot"}, r"'gateways\.email\.password_env' is required"),
        ({"password": "x"}, "password_env"),
        ({"security": "tls", "ca_file": "/nonexistent/ca.pem"}, r"'gateways\.email\.ca_file'"),
    ],
)
def test_email_config_errors(make_settings, conf, match) -> None:
    with pytest.raises(ConfigError, match=match):
        gateway(make_settings, **conf)


async def test_body_is_accepted_for_text(make_settings, smtp) -> None:
    inbox = Inbox()
    email_gw = gateway(make_settings, port=smtp(inbox))
    await email_gw.send(mail(text=None, body="Cuerpo"), key="a")
    assert inbox.message().get_content().strip() == "Cuerpo"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_check_logs_in_like_a_send(make_settings, smtp, monkeypatch, unused_tcp_port_factory):
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    inbox = Inbox()
    port = smtp(inbox, authenticator=authenticator, auth_require_tls=False, auth_required=True)
    good = plain_login(make_settings, port)
    assert await good.check() is None
    monkeypatch.setenv("SMTP_PASSWORD", "wrong")
    bad = plain_login(make_settings, port)
    assert "authentication failed" in await bad.check()
    down = gateway(make_settings, port=unused_tcp_port_factory())
    assert (await down.check()).startswith("smtp: cannot reach the server")
    assert inbox.envelopes == []
