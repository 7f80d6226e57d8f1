"""WhatsApp: Meta's Cloud API and Twilio, with the template registry both depend on.

WhatsApp Business rules: a business may start a conversation only with an approved
template (name + language + a fixed number of body parameters); free-form text is
allowed only inside the customer-service window, i.e. the customer wrote to the business
in the last 24 h. A phone call does not open that window, so a flow's message is a
template unless its payload says ``window_open: true`` (set by whoever knows the
customer wrote, e.g. an inbound-message integration).

Payload of a ``whatsapp`` message: ``template``, ``language`` (defaults to the
registry's first language), ``params`` (list of texts), or ``text`` + ``window_open``.

The registry is ``settings.templates``::

    templates:
      encuesta: {language: es, params: 1, category: utility, content_sid: HX…}
      aviso:    {language: [es, en_US], params: 2, content_sid: {es: HX…, en_US: HX…}}

``content_sid`` is only needed for Twilio (Content API template id).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from agi_callbot.config import Settings
from agi_callbot.errors import ConfigError
from agi_callbot.gateways.base import Sent, register
from agi_callbot.gateways.conf import HTTP_KEYS, ProviderConf
from agi_callbot.gateways.errors import ProviderError, success_json
from agi_callbot.gateways.http import HttpGateway, payload_text, recipient
from agi_callbot.gateways.twilio import TWILIO_KEYS, TwilioGateway
from agi_callbot.log import show_number
from agi_callbot.services import Message

log = logging.getLogger("agi_callbot.gateways")

CATEGORIES = ("marketing", "utility", "authentication")
WINDOW_RULE = (
    "free-form WhatsApp text is only allowed inside the 24 h customer-service window "
    "(the customer wrote first; a phone call does not open it): name an approved template"
)


def _languages(entry: Mapping[str, Any]) -> list[str]:
    value = entry.get("language")
    if isinstance(value, str) and value:
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return list(value)
    return []


def _same_language(a: str, b: str) -> bool:
    return a.replace("-", "_").lower() == b.replace("-", "_").lower()


def check_registry_entry(name: str, entry: Any) -> str | None:
    """What is wrong with one ``templates.<name>`` setting (``None``: nothing)."""
    where = f"templates.{name}"
    if not isinstance(entry, Mapping):
        return f"setting {where!r}: expected a mapping with language and params"
    if not _languages(entry):
        return f"setting '{where}.language': expected a language code or a list of them"
    count = entry.get("params", 0)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        return f"setting '{where}.params': expected the number of body parameters, got {count!r}"
    category = entry.get("category")
    if category is not None and str(category).lower() not in CATEGORIES:
        return f"setting '{where}.category': expected one of {', '.join(CATEGORIES)}"
    unknown = sorted(set(entry) - {"language", "params", "category", "content_sid"})
    if unknown:
        return f"unknown setting '{where}.{unknown[0]}'"
    return None


def validate_registry(settings: Settings) -> None:
    """Refuse a malformed template registry at start-up (``ConfigError`` naming the key)."""
    for name, entry in settings.templates.items():
        problem = check_registry_entry(name, entry)
        if problem:
            raise ConfigError(problem)


def check_template(
    settings: Settings, name: str, language: str | None, params: Sequence[Any] | int | None
) -> str | None:
    """Why a template message would be refused (``None``: it matches the registry).

    The flow validator calls this at load time; the gateways call it again before each
    send, so a registry edited after a flow was validated still stops a doomed request.
    ``params`` is the list of parameters (or just their count when values are dynamic).
    """
    entry = settings.templates.get(name)
    if entry is None:
        known = ", ".join(sorted(settings.templates)) or "none registered"
        return f"WhatsApp template {name!r} is not in the template registry ({known})"
    problem = check_registry_entry(name, entry)
    if problem:
        return problem
    languages = _languages(entry)
    if language and not any(_same_language(language, lang) for lang in languages):
        return (
            f"WhatsApp template {name!r} is not registered in language {language!r} "
            f"(registered: {', '.join(languages)})"
        )
    expected = entry.get("params", 0)
    if isinstance(params, bool):
        params = [params]
    if isinstance(params, str):
        given = 1
    elif isinstance(params, int):
        given = params
    else:
        given = len(params or ())
    if given != expected:
        return f"WhatsApp template {name!r} takes {expected} parameter(s), got {given}"
    return None


def check_message(settings: Settings, payload: Mapping[str, Any]) -> str | None:
    """Check a whatsapp action's payload: a registered template, or text in an open window."""
    name = payload.get("template")
    if name:
        return check_template(settings, str(name), payload.get("language"), payload.get("params"))
    if payload.get("text"):
        return None if payload.get("window_open") is True else WINDOW_RULE
    return "a WhatsApp message needs a template (or text inside the customer-service window)"


class _Resolved:
    """A template payload checked against the registry, ready to send."""

    def __init__(self, settings: Settings, message: Message) -> None:
        payload = message.payload
        self.name = str(payload.get("template") or "")
        raw_params = payload.get("params") or []
        if not isinstance(raw_params, list | tuple):
            raw_params = [raw_params]
        self.params = ["" if p is None else str(p) for p in raw_params]
        language = payload.get("language")
        problem = check_template(settings, self.name, language, self.params)
        if problem:
            raise ProviderError(problem, retryable=False, code="template")
        entry = settings.templates[self.name]
        languages = _languages(entry)
        self.language = next(
            (lang for lang in languages if language and _same_language(language, lang)),
            languages[0],
        )
        for i, value in enumerate(self.params, 1):
            if not value.strip():
                raise ProviderError(
                    f"WhatsApp template {self.name!r}: parameter {i} is empty",
                    retryable=False,
                    code="template",
                )
        sid = entry.get("content_sid")
        if isinstance(sid, Mapping):
            sid = next((v for k, v in sid.items() if _same_language(str(k), self.language)), None)
        self.content_sid = str(sid) if sid else None


def _free_form(message: Message) -> str | None:
    """The text to send free-form, or None when the message is a template."""
    if message.payload.get("template"):
        return None
    text = payload_text(message, "text")
    if message.payload.get("window_open") is not True:
        raise ProviderError(WINDOW_RULE, retryable=False, code="window")
    return text


@register("whatsapp", "meta")
class MetaWhatsAppGateway(HttpGateway):
    """WhatsApp Cloud API: ``POST {base_url}/{phone_number_id}/messages`` with a bearer token.

    The Cloud API accepts no idempotency key: a send retried after a timeout whose
    request did reach Meta can deliver twice. The outbox keeps that window small (one
    attempt per claim, the key recorded before sending); nothing here can close it.
    """

    channel = "whatsapp"
    provider = "meta"
    KEYS = HTTP_KEYS | {"phone_number_id", "token_env", "app_secret_env", "verify_token_env"}

    def __init__(self, settings: Settings, data: Mapping[str, Any], where: str) -> None:
        conf = ProviderConf(data, where, self.KEYS)
        validate_registry(settings)
        self.settings = settings
        base = conf.url("base_url", "https://graph.facebook.com/v21.0")
        self.url = f"{base}/{conf.text('phone_number_id')}/messages"
        self.probe_url = self.url
        token = conf.secret("token_env") or ""
        self.headers = {"Authorization": f"Bearer {token}"}
        super().__init__(conf, hide=(token,))

    async def send(self, message: Message, *, key: str) -> Sent:
        to = recipient(message)
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
        }
        text = _free_form(message)
        if text is not None:
            body.update(type="text", text={"preview_url": False, "body": text})
        else:
            template = _Resolved(self.settings, message)
            spec: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
            if template.params:
                parameters = [{"type": "text", "text": p} for p in template.params]
                spec["components"] = [{"type": "body", "parameters": parameters}]
            body.update(type="template", template=spec)
        response = await self.request("POST", self.url, json=body, headers=self.headers)
        answer = success_json(response, self.provider)
        messages = answer.get("messages") if isinstance(answer, dict) else None
        wamid = messages[0].get("id") if messages and isinstance(messages[0], dict) else None
        if not isinstance(wamid, str):
            raise ProviderError(
                "meta: the answer has no messages[0].id",
                retryable=False,
                status=response.status_code,
                code="no-id",
            )
        log.info("whatsapp sent via meta to %s (%s)", show_number(to), wamid)
        return Sent(wamid, self.provider)


@register("whatsapp", "twilio")
class TwilioWhatsAppGateway(TwilioGateway):
    """Twilio WhatsApp: ``whatsapp:+…`` addresses; templates as ContentSid + ContentVariables."""

    channel = "whatsapp"

    def __init__(self, settings: Settings, data: Mapping[str, Any], where: str) -> None:
        conf = ProviderConf(data, where, TWILIO_KEYS)
        validate_registry(settings)
        self.settings = settings
        super().__init__(conf)

    async def send(self, message: Message, *, key: str) -> Sent:
        to = recipient(message)
        form = {"To": f"whatsapp:{to}", **self.origin("whatsapp:")}
        text = _free_form(message)
        if text is not None:
            form["Body"] = text
        else:
            template = _Resolved(self.settings, message)
            if not template.content_sid:
                raise ProviderError(
                    f"WhatsApp template {template.name!r} has no content_sid "
                    f"for {template.language!r} (needed by Twilio)",
                    retryable=False,
                    code="template",
                )
            form["ContentSid"] = template.content_sid
            if template.params:
                variables = {str(i): p for i, p in enumerate(template.params, 1)}
                form["ContentVariables"] = json.dumps(variables, ensure_ascii=False)
        return await self.post(form, key=key, to=to)
