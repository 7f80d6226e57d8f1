"""WhatsApp: Meta's Cloud API and Twilio, on the template registry both depend on
(:mod:`agi_callbot.whatsapp_templates`, which flow validation checks too).

Payload of a ``whatsapp`` message: ``template``, ``language`` (defaults to the
registry's first language), ``params`` (list of texts), or ``text`` + ``window_open``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from agi_callbot.config import Settings
from agi_callbot.gateways.base import Sent, register
from agi_callbot.gateways.conf import HTTP_KEYS, ProviderConf
from agi_callbot.gateways.errors import ProviderError, missing_id, success_json
from agi_callbot.gateways.http import HttpGateway, payload_text, recipient
from agi_callbot.gateways.twilio import TWILIO_KEYS, TwilioGateway
from agi_callbot.phone import show_number
from agi_callbot.services import Message
from agi_callbot.whatsapp_templates import (
    WINDOW_RULE,
    check_template,
    same_language,
    template_languages,
    validate_registry,
)

log = logging.getLogger("agi_callbot.gateways")


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
        languages = template_languages(entry)
        self.language = next(
            (lang for lang in languages if language and same_language(language, lang)),
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
            sid = next((v for k, v in sid.items() if same_language(str(k), self.language)), None)
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

    The Cloud API documents no idempotency key: a send retried after a timeout whose
    request did reach Meta can deliver twice. The key still goes out in
    ``Idempotency-Key`` (a proxy or a later API version may use it); the outbox keeps the
    window small (one attempt per claim, the lease one send deadline plus a margin).
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
        response = await self.request("POST", self.url, key=key, json=body, headers=self.headers)
        answer = success_json(response, self.provider)
        messages = answer.get("messages") if isinstance(answer, dict) else None
        wamid = messages[0].get("id") if messages and isinstance(messages[0], dict) else None
        if not isinstance(wamid, str):
            raise missing_id(response, "meta", "messages[0].id")
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
