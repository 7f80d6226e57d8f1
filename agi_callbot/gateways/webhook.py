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
from agi_callbot.services import Message

log = logging.getLogger("agi_callbot.gateways")

SIGNATURE_HEADER = "X-Callbot-Signature"
METHODS = ("POST", "PUT", "PATCH")


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
        to = message.to.strip()
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
        try:
            body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        except (TypeError, ValueError) as exc:
            raise ProviderError(
                f"webhook: the data is not JSON ({exc})", retryable=False, code="payload"
            ) from None
        extra = payload.get("headers")
        headers = dict(self.headers)
        if isinstance(extra, Mapping):
            headers.update({str(k): str(v) for k, v in extra.items()})
        headers.update(
            {
                "Content-Type": "application/json",
                "X-Callbot-Call": message.call_uniqueid,
                "X-Callbot-Flow": message.flow,
                "X-Callbot-Block": message.block,
            }
        )
        if any("\r" in v or "\n" in v for v in headers.values()):
            raise ProviderError(
                "webhook: a header value contains a line break", retryable=False, code="payload"
            )
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, body)
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
