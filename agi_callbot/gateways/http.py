"""What every HTTP gateway shares: one pooled client, error mapping, the recipient check."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from typing import Any
from urllib.parse import urlsplit

import httpx

from agi_callbot.errors import ConfigError
from agi_callbot.gateways.conf import ProviderConf
from agi_callbot.gateways.errors import ProviderError, from_response, from_transport
from agi_callbot.phone import to_e164, why_not
from agi_callbot.services import Message

log = logging.getLogger("agi_callbot.gateways")

# httpx logs every request line at INFO: a Kannel-style GET carries the recipient's
# number (and maybe a password) in its query string, so keep httpx at WARNING.
logging.getLogger("httpx").setLevel(logging.WARNING)


#: the characters every provider we know accepts in an idempotency key (Telnyx is the
#: strictest: ``[A-Za-z0-9_:-]{1,255}``)
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_:-]{1,64}")


def wire_key(key: str) -> str:
    """The outbox key as a provider's idempotency header value: itself when it is short
    and plain, else its SHA-256 hex (an outbox key holds ``/`` and ``.``). Deterministic,
    so every attempt at one message sends the same value."""
    if _PLAIN_KEY.fullmatch(key):
        return key
    return hashlib.sha256(key.encode()).hexdigest()


class HttpGateway:
    """Base of the HTTP providers: ``request`` returns a success response or raises
    :class:`ProviderError` with the retry decision already made.

    Every request for a message carries the outbox's idempotency key in
    ``key_header`` (setting ``idempotency_header``; ``none`` turns it off): a send
    repeated after a crash or a timeout then reaches the provider with the key of the
    first attempt, and a provider that deduplicates delivers it once.
    """

    channel = ""
    provider = ""
    #: the header the key goes in unless the settings say otherwise
    key_header = "Idempotency-Key"

    def __init__(
        self, conf: ProviderConf, *, default_timeout: float = 10.0, hide: tuple[str, ...] = ()
    ) -> None:
        self.conf = conf
        self.client = conf.http_client(default_timeout=default_timeout)
        #: secrets a provider might echo back in an error body (a query-string password)
        self.hide = tuple(h for h in hide if h)
        header = conf.text("idempotency_header", self.key_header).strip()
        if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", header):
            raise ConfigError(
                f"setting {conf.path('idempotency_header')!r}: {header!r} is not a header "
                "name (or 'none')"
            )
        self.key_header = "" if header.lower() == "none" else header

    def key_value(self, key: str) -> str:
        return wire_key(key)

    async def request(
        self,
        method: str,
        url: str,
        *,
        key: str | None = None,
        ok: frozenset[int] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send; ``key`` is the outbox key of the message this request delivers."""
        if key is not None and self.key_header:
            kwargs["headers"] = {
                **(kwargs.get("headers") or {}),
                self.key_header: self.key_value(key),
            }
        try:
            response = await self.client.request(method, url, **kwargs)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise ProviderError(
                f"{self.provider}: bad URL ({exc})", retryable=False, code="url"
            ) from None
        except httpx.HTTPError as exc:
            log.debug("%s %s: %s", self.channel, self.provider, type(exc).__name__)
            # `from None`: the httpx exception holds the request (headers with secrets)
            raise from_transport(exc, self.provider) from None
        success = response.status_code in ok if ok else response.is_success
        if not success:
            raise from_response(response, self.provider, hide=self.hide)
        return response

    async def aclose(self) -> None:
        await self.client.aclose()

    #: the URL whose host :meth:`check` connects to (None: nothing fixed to check)
    probe_url: str | None = None

    async def check(self) -> str | None:
        """Open (and close) a TCP connection to the provider: ``None`` or what failed.

        A connection, not a request: a provider's API has no harmless call to make, and
        a TCP connect already shows DNS, routing and firewall problems.
        """
        if not self.probe_url:
            return None
        parts = urlsplit(self.probe_url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        timeout = self.client.timeout.connect or 5.0
        try:
            async with asyncio.timeout(timeout):
                _, writer = await asyncio.open_connection(host, port)
        except TimeoutError:
            return f"{self.provider}: {host}:{port} did not answer within {timeout:g}s"
        except OSError as exc:
            return f"{self.provider}: cannot connect to {host}:{port} ({exc.strerror or exc})"
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return None


def recipient(message: Message) -> str:
    """The message's ``to`` as E.164; a number the outbox should have skipped is permanent."""
    number = to_e164(message.to, None)
    if number is None:
        reason = why_not(message.to, None) or "not a valid phone number"
        raise ProviderError(f"{message.channel}: {reason}", retryable=False, code="number")
    return number


def payload_text(message: Message, key: str, *, required: bool = True) -> str | None:
    """A text field of the payload; a missing one is the flow's fault, never worth a retry."""
    value = message.payload.get(key)
    if value is None or value == "":
        if required:
            raise ProviderError(
                f"{message.channel}: the message has no {key!r}", retryable=False, code="payload"
            )
        return None
    return str(value)
