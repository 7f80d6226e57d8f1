"""Providers' delivery-status callbacks: ``/callbacks/twilio`` and ``/callbacks/meta``.

A provider tells us later what became of a message it accepted (delivered, read,
failed with a code). Anyone can POST to a public URL, so every request is verified
before it counts: Twilio signs ``URL + sorted form fields`` with HMAC-SHA1 under the
auth token (``X-Twilio-Signature``); Meta signs the raw body with HMAC-SHA256 under the
app secret (``X-Hub-Signature-256``) and proves our endpoint with a ``hub.verify_token``
challenge when the webhook is registered.

Secrets come from the gateway settings: Twilio's ``auth_token_env`` (every channel using
Twilio), Meta's ``app_secret_env`` and ``verify_token_env`` (``gateways.whatsapp``). Twilio
signs the exact URL it called; behind a proxy that is the ``status_callback`` setting,
which is therefore tried first.

Only outcomes are reported — ``delivered``, ``read``, ``failed`` — because interim
states (queued, sending, sent) can arrive after the final one and would overwrite it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aiohttp import web

from agi_callbot.config import Settings
from agi_callbot.gateways.errors import describe
from agi_callbot.log import read_secret as secret
from agi_callbot.log_limit import Limiter

log = logging.getLogger("agi_callbot.gateways")
#: refusals are what anyone on the internet can cause: one line per cause per window
refusals = Limiter(log)

OnStatus = Callable[[str, str, str, str | None], Awaitable[Any] | Any]

#: provider status → what the outbox records (statuses not listed are interim: ignored)
TWILIO_STATUSES = {
    "delivered": "delivered",
    "read": "read",
    "failed": "failed",
    "undelivered": "failed",
}
META_STATUSES = {"delivered": "delivered", "read": "read", "failed": "failed"}


def twilio_signature(token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Twilio's signature: base64(HMAC-SHA1(token, url + k1v1k2v2…)), sorted by key, then value."""
    data = url + "".join(k + v for k, v in sorted(params))
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def meta_signature(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def _url_variants(url: str) -> list[str]:
    """The URL as given and without/with its default port (Twilio signs either form)."""
    parts = urlsplit(url)
    variants = [url]
    default = {"http": 80, "https": 443}.get(parts.scheme)
    host = parts.hostname or ""
    if parts.port is not None and parts.port == default:
        variants.append(urlunsplit(parts._replace(netloc=host)))
    elif parts.port is None and default is not None:
        variants.append(urlunsplit(parts._replace(netloc=f"{host}:{default}")))
    return variants


class _Secrets:
    """Callback secrets gathered from the gateway settings (read from the environment)."""

    def __init__(self, settings: Settings | None) -> None:
        self.twilio_tokens: list[str] = []
        self.twilio_urls: list[str] = []
        self.meta_app_secret: str | None = None
        self.meta_verify_token: str | None = None
        gateways: Mapping[str, Any] = settings.gateways if settings else {}
        for conf in gateways.values():
            if not isinstance(conf, Mapping) or conf.get("dry_run") is True:
                continue
            if conf.get("provider") == "twilio":
                token = secret(conf.get("auth_token_env"))
                if token and token not in self.twilio_tokens:
                    self.twilio_tokens.append(token)
                if conf.get("status_callback"):
                    self.twilio_urls.append(str(conf["status_callback"]))
            if conf.get("provider", "meta") == "meta" and conf is gateways.get("whatsapp"):
                self.meta_app_secret = secret(conf.get("app_secret_env"))
                self.meta_verify_token = secret(conf.get("verify_token_env"))


#: why a callback is refused → the text of the 403 answer
_ANSWERS = {
    "unconfigured": "not configured",
    "signature": "bad signature",
    "verify": "verification failed",
}


def routes(receiver: Any, settings: Settings | None = None) -> list[web.RouteDef]:
    """The callback routes; ``receiver`` is ``on_status(provider, provider_id, status, code)``
    or an object with ``delivery_status(provider_id, status, code)`` (the Outbox).

    ``settings`` default to ``receiver.settings``; without them no request can be verified
    and every callback is refused (403).
    """
    on_status = _on_status(receiver)
    secrets = _Secrets(settings if settings is not None else getattr(receiver, "settings", None))

    def refuse(provider: str, cause: str, why: str) -> web.Response:
        refusals.warning(f"{provider}-{cause}", f"{provider} {why}")
        return web.Response(status=403, text=_ANSWERS[cause])

    async def report(provider: str, provider_id: str, status: str, code: str | None) -> None:
        result = on_status(provider, provider_id, status, code)
        if inspect.isawaitable(result):
            result = await result
        if result is False:
            log.info("callback from %s for unknown message %s (%s)", provider, provider_id, status)
        elif status == "failed":
            meaning = describe(provider, code) or "no reason given"
            log.info("%s message %s failed: %s (%s)", provider, provider_id, code, meaning)

    async def twilio(request: web.Request) -> web.Response:
        if not secrets.twilio_tokens:
            return refuse(
                "twilio", "unconfigured", "callback refused: no Twilio auth token configured"
            )
        form = await request.post()
        params = [(k, str(v)) for k, v in form.items()]
        given = request.headers.get("X-Twilio-Signature", "")
        urls = [v for url in [*secrets.twilio_urls, str(request.url)] for v in _url_variants(url)]
        if not given or not any(
            hmac.compare_digest(twilio_signature(token, url, params), given)
            for token in secrets.twilio_tokens
            for url in urls
        ):
            return refuse("twilio", "signature", "callback refused: bad signature")
        sid = str(form.get("MessageSid") or form.get("SmsSid") or "")
        status = TWILIO_STATUSES.get(str(form.get("MessageStatus") or form.get("SmsStatus")))
        if sid and status:
            code = str(form.get("ErrorCode") or "") or None
            await report("twilio", sid, status, code)
        return web.Response(status=204)

    async def meta_verify(request: web.Request) -> web.Response:
        query = request.query
        expected = secrets.meta_verify_token
        token = query.get("hub.verify_token", "")
        if (
            query.get("hub.mode") == "subscribe"
            and expected
            and hmac.compare_digest(token.encode(), expected.encode())
        ):
            return web.Response(text=query.get("hub.challenge", ""))
        return refuse("meta", "verify", "webhook verification refused")

    async def meta(request: web.Request) -> web.Response:
        if not secrets.meta_app_secret:
            return refuse("meta", "unconfigured", "callback refused: no app_secret_env configured")
        body = await request.read()
        given = request.headers.get("X-Hub-Signature-256", "")
        if not hmac.compare_digest(meta_signature(secrets.meta_app_secret, body), given):
            return refuse("meta", "signature", "callback refused: bad signature")
        try:
            document = json.loads(body)
        except ValueError:
            return web.Response(status=400, text="not JSON")
        for wamid, status, code in _meta_statuses(document):
            await report("meta", wamid, status, code)
        return web.Response(status=200, text="ok")

    return [
        web.post("/callbacks/twilio", twilio),
        web.get("/callbacks/meta", meta_verify),
        web.post("/callbacks/meta", meta),
    ]


def _on_status(receiver: Any) -> OnStatus:
    if hasattr(receiver, "delivery_status"):

        def adapt(provider: str, provider_id: str, status: str, code: str | None) -> Any:
            return receiver.delivery_status(provider_id, status, code)

        return adapt
    if callable(receiver):
        return receiver
    raise TypeError("routes() needs on_status(provider, id, status, code) or an Outbox")


def _dicts(node: Any, key: str) -> list[dict[str, Any]]:
    """``node[key]`` as a list of mappings, whatever shape the notification has."""
    items = node.get(key) if isinstance(node, dict) else None
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _meta_statuses(document: Any) -> list[tuple[str, str, str | None]]:
    """(wamid, status, error code) for every outcome in a Meta webhook notification."""
    found: list[tuple[str, str, str | None]] = []
    for entry in _dicts(document, "entry"):
        for change in _dicts(entry, "changes"):
            for item in _dicts(change.get("value"), "statuses"):
                status = META_STATUSES.get(str(item.get("status")))
                wamid = item.get("id")
                if not status or not isinstance(wamid, str):
                    continue
                errors = _dicts(item, "errors")
                code = errors[0].get("code") if errors else None
                found.append((wamid, status, str(code) if code is not None else None))
    return found
