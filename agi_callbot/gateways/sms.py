"""SMS: a generic HTTP gateway (Kannel and most providers) and Twilio.

The generic gateway is described entirely in the settings::

    sms:
      provider: http
      url: https://sms.example/api/send      # or base_url + path
      method: POST                           # GET for Kannel's /cgi-bin/sendsms
      body_format: json                      # json | form
      body: {to: "{to}", from: "{from}", text: "{text}"}
      query: {}                              # the same placeholders, in the query string
      auth_env: SMS_TOKEN                    # sent as "<auth_scheme> <token>" in auth_header
      auth_header: Authorization
      auth_scheme: Bearer                    # Basic: the variable holds "user:password"
      success_status: [200, 201, 202]
      id_path: messages.0.id                 # where the provider's message id is
      from: "+34910000000"

Every request carries the outbox's idempotency key in an ``Idempotency-Key`` header
(``idempotency_header: X-Request-Id`` renames it, ``none`` leaves it out), so a send
repeated after a crash carries the key of the first attempt.

Placeholders are ``{to}``, ``{from}``, ``{text}``, ``{key}`` (the idempotency key) and
``{secret}`` (the value of ``auth_env``, for APIs that want it in the query or body);
``{{`` and ``}}`` are literal braces. Values are substituted into the template's
strings, never evaluated as a format specification, so a caller's text cannot reach
attributes or other fields.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Mapping
from typing import Any

from agi_callbot.config import Settings
from agi_callbot.errors import ConfigError
from agi_callbot.gateways.base import Sent, register
from agi_callbot.gateways.conf import HTTP_KEYS, ProviderConf
from agi_callbot.gateways.errors import missing_id, success_json
from agi_callbot.gateways.http import HttpGateway, payload_text, recipient
from agi_callbot.gateways.twilio import TWILIO_KEYS, TwilioGateway
from agi_callbot.phone import show_number
from agi_callbot.services import Message

log = logging.getLogger("agi_callbot.gateways")

PLACEHOLDERS = frozenset({"to", "from", "text", "key", "secret"})
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


class Template:
    """A JSON-like structure whose strings hold ``{name}`` placeholders."""

    def __init__(self, template: Any, where: str) -> None:
        self.template = template
        self._check(template, where)

    def fill(self, values: Mapping[str, str]) -> Any:
        return self._fill(self.template, values)

    def _check(self, node: Any, where: str) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                self._check(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                self._check(value, f"{where}[{i}]")
        elif isinstance(node, str):
            for match in _TOKEN.finditer(node):
                name = match.group(1)
                if name is not None and name not in PLACEHOLDERS:
                    raise ConfigError(
                        f"setting {where!r}: unknown placeholder {{{name}}} "
                        f"(expected {', '.join('{' + p + '}' for p in sorted(PLACEHOLDERS))})"
                    )

    def _fill(self, node: Any, values: Mapping[str, str]) -> Any:
        if isinstance(node, Mapping):
            return {str(k): self._fill(v, values) for k, v in node.items()}
        if isinstance(node, list):
            return [self._fill(v, values) for v in node]
        if isinstance(node, str):

            def one(match: re.Match[str]) -> str:
                token = match.group(0)
                if token in ("{{", "}}"):
                    return token[0]
                return values.get(match.group(1) or "", "")

            return _TOKEN.sub(one, node)
        return node


@register("sms", "http")
class HttpSmsGateway(HttpGateway):
    """Any HTTP SMS API that takes the number and text in a request it can describe."""

    channel = "sms"
    provider = "http"
    KEYS = HTTP_KEYS | {
        "url",
        "path",
        "method",
        "body_format",
        "body",
        "query",
        "headers",
        "auth_env",
        "auth_header",
        "auth_scheme",
        "success_status",
        "id_path",
        "from",
    }

    def __init__(self, settings: Settings, data: Mapping[str, Any], where: str) -> None:
        conf = ProviderConf(data, where, self.KEYS)
        url = conf.url("url", None)
        if url is None:
            base = conf.url("base_url", None)
            if base is None:
                raise ConfigError(f"setting {conf.path('url')!r} (or base_url) is required")
            url = base + "/" + conf.text("path", "").lstrip("/")
        self.url = url
        self.probe_url = url
        self.method = conf.text("method", "POST").upper()
        if self.method not in ("GET", "POST", "PUT"):
            raise ConfigError(f"setting {conf.path('method')!r}: expected GET, POST or PUT")
        self.body_format = conf.text("body_format", "json")
        if self.body_format not in ("json", "form"):
            raise ConfigError(f"setting {conf.path('body_format')!r}: expected json or form")
        default_body = {"to": "{to}", "from": "{from}", "text": "{text}"}
        body = conf.mapping("body", None if self.method == "GET" else default_body)
        self.body = Template(body, conf.path("body")) if body is not None else None
        self.query = Template(conf.mapping("query", {}) or {}, conf.path("query"))
        self.headers = {str(k): str(v) for k, v in (conf.mapping("headers", {}) or {}).items()}
        self.secret = conf.secret("auth_env") if "auth_env" in conf.data else None
        scheme = conf.text("auth_scheme", "Bearer")
        header = conf.text("auth_header", "Authorization")
        if self.secret is not None and header.lower() != "none":
            token = self.secret
            if scheme.lower() == "basic":
                token = base64.b64encode(token.encode()).decode()
            self.headers[header] = f"{scheme} {token}".strip() if scheme else token
        statuses = conf.mapping("success_status", None)
        try:
            self.ok = frozenset(int(s) for s in statuses) if statuses else None
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"setting {conf.path('success_status')!r}: expected a list of HTTP statuses"
            ) from exc
        self.id_path = conf.optional("id_path")
        self.sender = conf.optional("from")
        super().__init__(conf, hide=(self.secret or "",))

    async def send(self, message: Message, *, key: str) -> Sent:
        to = recipient(message)
        values = {
            "to": to,
            "from": payload_text(message, "from", required=False) or self.sender or "",
            "text": payload_text(message, "text") or "",
            "key": key,
            "secret": self.secret or "",
        }
        kwargs: dict[str, Any] = {"params": self.query.fill(values), "headers": self.headers}
        if self.body is not None:
            filled = self.body.fill(values)
            kwargs["json" if self.body_format == "json" else "data"] = filled
        response = await self.request(self.method, self.url, key=key, ok=self.ok, **kwargs)
        provider_id = None
        if self.id_path:
            provider_id = _lookup(success_json(response, self.provider), self.id_path)
            if provider_id is None:
                raise missing_id(response, "http", repr(self.id_path))
        log.info("sms sent via http to %s (%s)", show_number(to), provider_id or "no id")
        return Sent(provider_id, self.provider)


@register("sms", "twilio")
class TwilioSmsGateway(TwilioGateway):
    channel = "sms"

    def __init__(self, settings: Settings, data: Mapping[str, Any], where: str) -> None:
        super().__init__(ProviderConf(data, where, TWILIO_KEYS))

    async def send(self, message: Message, *, key: str) -> Sent:
        to = recipient(message)
        form = {"To": to, "Body": payload_text(message, "text") or ""}
        sender = payload_text(message, "from", required=False)
        form.update({"From": sender} if sender else self.origin())
        return await self.post(form, key=key, to=to)


def _lookup(body: Any, path: str) -> str | None:
    """Follow ``a.0.b`` through dicts and lists; the id as text, or None."""
    node = body
    for part in path.split("."):
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    if node is None or isinstance(node, Mapping | list):
        return None
    return str(node)
