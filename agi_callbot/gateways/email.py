"""Email over SMTP (aiosmtplib): plain text with an optional HTML alternative.

Settings::

    email:
      host: smtp.example.com
      port: 587
      security: starttls          # none | starttls | tls (default by port: 465 tls, 587 starttls)
      username: callbot
      password_env: SMTP_PASSWORD
      from: "Acme <callbot@example.com>"
      ca_file: /etc/ssl/relay.pem  # a private relay's CA (default: the system's)
      allow_plaintext_auth: false # security none + username: refused unless true (a relay
                                  # on a trusted network); a warning at start when allowed

Payload: ``subject``, ``text`` (or ``body``), optional ``html`` and ``from``; ``to`` is
the address. The Message-ID is derived from the outbox's idempotency key, so a message
re-sent after a crash carries the same id and mail clients show it once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
from collections.abc import Mapping
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

import aiosmtplib

from agi_callbot.config import Settings
from agi_callbot.errors import ConfigError
from agi_callbot.gateways.base import Sent, register
from agi_callbot.gateways.conf import ProviderConf
from agi_callbot.gateways.errors import ProviderError
from agi_callbot.gateways.http import payload_text
from agi_callbot.services import Message

log = logging.getLogger("agi_callbot.gateways")

SECURITY = ("none", "starttls", "tls")


@register("email", "smtp")
class SmtpGateway:
    channel = "email"
    provider = "smtp"
    KEYS = frozenset(
        {
            "host",
            "port",
            "security",
            "username",
            "password_env",
            "from",
            "timeout",
            "ca_file",
            "max_connections",
            "allow_plaintext_auth",
        }
    )

    def __init__(self, settings: Settings, data: Mapping[str, Any], where: str) -> None:
        conf = ProviderConf(data, where, self.KEYS)
        self.host = conf.text("host", "localhost")
        self.port = conf.integer("port", 25)
        default = {465: "tls", 587: "starttls"}.get(self.port, "none")
        self.security = conf.text("security", default).lower()
        if self.security not in SECURITY:
            raise ConfigError(
                f"setting {conf.path('security')!r}: expected one of {', '.join(SECURITY)}"
            )
        self.username = conf.optional("username")
        self.password = conf.secret("password_env") if self.username else None
        plaintext = conf.data.get("allow_plaintext_auth", False)
        if not isinstance(plaintext, bool):
            raise ConfigError(
                f"setting {conf.path('allow_plaintext_auth')!r}: expected true or false"
            )
        if self.username and self.security == "none":
            if not plaintext:
                raise ConfigError(
                    f"setting {conf.path('security')!r}: 'none' would send the SMTP password "
                    "in clear text; use starttls (port 587) or tls (port 465), or set "
                    f"{conf.path('allow_plaintext_auth')!r}: true for a relay on a trusted network"
                )
            log.warning(
                "email: SMTP login to %s:%s as %s in clear text (allow_plaintext_auth)",
                self.host,
                self.port,
                self.username,
            )
        self.sender = conf.text("from")
        if "@" not in parseaddr(self.sender)[1]:
            raise ConfigError(f"setting {conf.path('from')!r}: expected an email address")
        self.timeout = conf.duration("timeout", 15.0)
        ca_file = conf.optional("ca_file")
        self.tls_context: ssl.SSLContext | None = None
        if self.security != "none":
            try:
                self.tls_context = ssl.create_default_context(cafile=ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(f"setting {conf.path('ca_file')!r}: {exc}") from exc
        # one SMTP session per message; this bounds how many run at once
        self.slots = asyncio.Semaphore(conf.integer("max_connections", 4) or 4)

    def build(self, message: Message, key: str) -> EmailMessage:
        """The MIME message; header injection and bad addresses are permanent errors."""
        to = message.to.strip()
        sender = payload_text(message, "from", required=False) or self.sender
        subject = payload_text(message, "subject", required=False) or ""
        text = payload_text(message, "text", required=False)
        text = text or payload_text(message, "body", required=False)
        if not text:
            raise ProviderError("email: the message has no 'text'", retryable=False, code="payload")
        html = payload_text(message, "html", required=False)
        mail = EmailMessage()
        try:
            mail["From"] = sender
            mail["To"] = to
            mail["Subject"] = subject
            addresses = mail["To"].addresses
        except (ValueError, IndexError) as exc:
            raise ProviderError(f"email: {exc}", retryable=False, code="address") from None
        if len(addresses) != 1 or not _plausible(addresses[0]):
            raise ProviderError(
                f"email: not one email address: {to!r}", retryable=False, code="address"
            )
        domain = parseaddr(sender)[1].rpartition("@")[2] or "agi-callbot"
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        mail["Message-ID"] = f"<{digest}@{domain}>"
        mail.set_content(text)
        if html:
            mail.add_alternative(html, subtype="html")
        return mail

    async def send(self, message: Message, *, key: str) -> Sent:
        mail = self.build(message, key)
        async with self.slots:
            try:
                await aiosmtplib.send(
                    mail,
                    hostname=self.host,
                    port=self.port,
                    username=self.username,
                    password=self.password,
                    use_tls=self.security == "tls",
                    start_tls=self.security == "starttls",
                    tls_context=self.tls_context,
                    timeout=self.timeout,
                )
            except (aiosmtplib.SMTPException, OSError) as exc:
                raise from_smtp(exc) from None
        log.info("email sent via smtp (%s)", mail["Message-ID"])
        return Sent(str(mail["Message-ID"]), self.provider)

    async def check(self) -> str | None:
        """Connect, say EHLO, STARTTLS and log in as a send would, then QUIT."""
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            use_tls=self.security == "tls",
            start_tls=self.security == "starttls",
            tls_context=self.tls_context,
            timeout=self.timeout,
        )
        try:
            await client.connect()
            if self.username:
                await client.login(self.username, self.password or "")
            await client.quit()
        except (aiosmtplib.SMTPException, OSError) as exc:
            client.close()
            return str(from_smtp(exc))
        return None

    async def aclose(self) -> None:
        return None


def _plausible(address: Address) -> bool:
    return bool(address.username) and "." in address.domain


def from_smtp(exc: BaseException) -> ProviderError:
    """SMTP reply codes: 4xx try again later, 5xx give up; no answer at all: try again."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        exc = exc.recipients[0]
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return ProviderError(
            f"smtp: authentication failed ({exc.code}); check username and password_env",
            retryable=False,
            code=str(exc.code),
        )
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return ProviderError(f"smtp: {exc.message}", retryable=False, code="not-supported")
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):
        return ProviderError("smtp: timeout", retryable=True, code="timeout")
    if isinstance(exc, aiosmtplib.SMTPResponseException) and not isinstance(
        exc, aiosmtplib.SMTPServerDisconnected
    ):
        retryable = exc.code < 500
        return ProviderError(
            f"smtp: {exc.code} {exc.message}", retryable=retryable, code=str(exc.code)
        )
    if isinstance(exc, ssl.SSLError):
        return ProviderError(f"smtp: TLS failed ({exc.reason})", retryable=False, code="tls")
    return ProviderError(f"smtp: cannot reach the server ({exc})", retryable=True, code="connect")
