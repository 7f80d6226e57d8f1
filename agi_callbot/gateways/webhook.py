"""Webhook: POST the call's data as JSON, signed so the receiver can trust it.

Settings::

    webhook:
      url: https://crm.example/hooks/callbot   # a message whose ``to`` is a URL goes there
      secret_env: WEBHOOK_SECRET               # HMAC-SHA256 key; no signature without it
      headers: {X-Tenant: acme}
      timeout: 10s

Payload (what a flow's ``webhook`` action gives): ``data`` (the JSON body), ``method``
(POST, PUT or PATCH), ``headers``. The body is ``data`` exactly as the flow wrote it,
because the receiver is often someone else's API with its own schema; a flow that gives
no body sends ``{"id": <idempotency key>, "call": <uniqueid>, "flow", "block"}``.

Headers: the settings' ``headers``, then the action's, then ours, which always win:
``X-Callbot-Signature: sha256=<hex HMAC of the raw body>`` (the GitHub convention, so
existing verifiers work), ``Idempotency-Key`` (at-least-once delivery means a receiver
may see a message twice, and that key is how it tells), ``X-Callbot-Call``,
``X-Callbot-Flow``, ``X-Callbot-Block``.

A webhook with ``save_as`` is not a message: the flow waits for its JSON answer during
the call. :meth:`WebhookGateway.fetch` is that path (the flow's
:class:`~agi_callbot.services.WebhookService`, built by :func:`in_call_webhooks` even
when messages are in dry-run): the same body, headers and signature, the action's own
``timeout``, GET and DELETE allowed, an answer of at most 64 KB that must be JSON.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any

from agi_callbot.config import Settings
from agi_callbot.gateways.base import Sent, register
from agi_callbot.gateways.conf import HTTP_KEYS, ProviderConf
from agi_callbot.gateways.errors import ProviderError
from agi_callbot.gateways.http import HttpGateway
from agi_callbot.services import Message, WebhookRequest

log = logging.getLogger("agi_callbot.gateways")

SIGNATURE_HEADER = "X-Callbot-Signature"
METHODS = ("POST", "PUT", "PATCH")
#: what a webhook with ``save_as`` may use: it asks for an answer, it delivers nothing
FETCH_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
#: the biggest answer a flow keeps (it lives in the call's variables)
MAX_ANSWER = 64 * 1024


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time check of a signature header (for receivers and tests)."""
    return bool(header) and hmac.compare_digest(sign(secret, body), str(header))


@register("webhook", "http")
class WebhookGateway(HttpGateway):
    channel = "webhook"
    provider = "http"
    KEYS = HTTP_KEYS | {"url", "secret_env", "headers"}

    def key_value(self, key: str) -> str:
        # the receiver sees the key as it is (it is also the default body's "id")
        return key

    def __init__(self, settings: Settings, data: Mapping[str, Any], where: str) -> None:
        conf = ProviderConf(data, where, self.KEYS)
        self.url = conf.url("url", None)
        self.probe_url = self.url
        self.secret = conf.secret("secret_env") if "secret_env" in conf.data else None
        self.headers = {str(k): str(v) for k, v in (conf.mapping("headers", {}) or {}).items()}
        super().__init__(conf, hide=(self.secret or "",))

    def target(self, message: Message) -> str:
        return self.target_url(message.to)

    def target_url(self, to: str) -> str:
        """``to`` when it is a URL, else the settings' ``url``."""
        to = to.strip()
        if to.startswith(("http://", "https://")):
            return to
        if self.url:
            return self.url
        raise ProviderError(
            "webhook: no URL (set gateways.webhook.url or give the action a URL)",
            retryable=False,
            code="payload",
        )

    async def send(self, message: Message, *, key: str) -> Sent:
        url = self.target(message)
        payload = message.payload
        method = str(payload.get("method") or "POST").upper()
        if method not in METHODS:
            raise ProviderError(
                f"webhook: method {method} cannot carry a message (use POST, PUT or PATCH; "
                "a GET belongs in a webhook with save_as)",
                retryable=False,
                code="payload",
            )
        document = payload.get("data")
        if document is None or document == {}:
            document = {
                "id": key,
                "call": message.call_uniqueid,
                "flow": message.flow,
                "block": message.block,
            }
        body = _json(document)
        extra = payload.get("headers")
        headers = self._headers(
            body,
            extra if isinstance(extra, Mapping) else {},
            call=message.call_uniqueid,
            flow=message.flow,
            block=message.block,
        )
        response = await self.request(method, url, key=key, content=body, headers=headers)
        provider_id = None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, dict) and isinstance(answer.get("id"), str | int):
            provider_id = str(answer["id"])
        log.info("webhook delivered (%s, HTTP %s)", key, response.status_code)
        return Sent(provider_id, self.provider)

    async def fetch(self, request: WebhookRequest) -> Any:
        """A webhook with ``save_as``: call it now and return its JSON answer (``{}`` for an
        empty body). Raises :class:`ProviderError` (a GatewayError) when it fails."""
        method = request.method.upper()
        if method not in FETCH_METHODS:
            raise ProviderError(
                f"webhook: unknown method {method}", retryable=False, code="payload"
            )
        body = _json(request.data if request.data is not None else {})
        headers = self._headers(
            body,
            request.headers,
            call=request.call,
            flow=request.flow,
            block=request.block,
        )
        url = self.target_url(request.url)
        response = await self.request(
            method, url, key=request.key, content=body, headers=headers, timeout=request.timeout
        )
        if len(response.content) > MAX_ANSWER:
            raise ProviderError(
                f"webhook: answer larger than {MAX_ANSWER} bytes", retryable=False, code="answer"
            )
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise ProviderError(
                "webhook: the answer is not JSON", retryable=False, code="answer"
            ) from None

    def _headers(
        self,
        body: bytes,
        extra: Mapping[str, Any],
        *,
        call: str,
        flow: str,
        block: str,
    ) -> dict[str, str]:
        """The settings' headers, then the action's, then ours (see the module doc)."""
        headers = dict(self.headers)
        headers.update({str(k): str(v) for k, v in extra.items()})
        headers.update(
            {
                "Content-Type": "application/json",
                "X-Callbot-Call": call,
                "X-Callbot-Flow": flow,
                "X-Callbot-Block": block,
            }
        )
        if any("\r" in v or "\n" in v for v in headers.values()):
            raise ProviderError(
                "webhook: a header value contains a line break", retryable=False, code="payload"
            )
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, body)
        return headers


def _json(document: Any) -> bytes:
    try:
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    except (TypeError, ValueError) as exc:
        raise ProviderError(
            f"webhook: the data is not JSON ({exc})", retryable=False, code="payload"
        ) from None


def in_call_webhooks(settings: Settings) -> WebhookGateway:
    """The flows' :class:`~agi_callbot.services.WebhookService`: ``gateways.webhook``'s
    headers, secret and client settings, whether or not messages are in dry-run."""
    conf = settings.gateways.get("webhook")
    data = dict(conf) if isinstance(conf, Mapping) else {}
    for key in ("dry_run", "provider"):
        data.pop(key, None)
    return WebhookGateway(settings, data, "gateways.webhook")
