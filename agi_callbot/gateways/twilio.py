"""Twilio Programmable Messaging, shared by the SMS and WhatsApp gateways.

Both send ``POST {base_url}/2010-04-01/Accounts/{sid}/Messages.json`` with a form body
and basic auth (account SID : auth token). Twilio accepts an idempotency token
(``I-Twilio-Idempotency-Token``): the outbox's key goes there, so a send repeated after
a crash or a timeout does not deliver twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx

from agi_callbot.errors import ConfigError
from agi_callbot.gateways.base import Sent
from agi_callbot.gateways.conf import HTTP_KEYS, ProviderConf
from agi_callbot.gateways.errors import missing_id, success_json
from agi_callbot.gateways.http import HttpGateway
from agi_callbot.phone import show_number

log = logging.getLogger("agi_callbot.gateways")

TWILIO_KEYS = HTTP_KEYS | {
    "account_sid",
    "account_sid_env",
    "auth_token_env",
    "from",
    "messaging_service_sid",
    "status_callback",
}


class TwilioGateway(HttpGateway):
    """Posts one form to Messages.json; subclasses choose the form fields."""

    provider = "twilio"
    KEYS = TWILIO_KEYS
    key_header = "I-Twilio-Idempotency-Token"

    def __init__(self, conf: ProviderConf) -> None:
        sid = conf.optional("account_sid") or conf.secret("account_sid_env", required=False)
        if not sid:
            raise ConfigError(
                f"setting {conf.path('account_sid')!r} or {conf.path('account_sid_env')!r} "
                "is required"
            )
        self.account_sid = sid
        token = conf.secret("auth_token_env") or ""
        self.auth = httpx.BasicAuth(sid, token)
        base = conf.url("base_url", "https://api.twilio.com")
        self.url = f"{base}/2010-04-01/Accounts/{sid}/Messages.json"
        self.probe_url = self.url
        self.sender = conf.optional("from")
        self.service_sid = conf.optional("messaging_service_sid")
        if not self.sender and not self.service_sid:
            raise ConfigError(
                f"setting {conf.path('from')!r} or {conf.path('messaging_service_sid')!r} "
                "is required"
            )
        self.status_callback = conf.url("status_callback", None)
        super().__init__(conf, hide=(token,))

    async def post(self, form: Mapping[str, str], *, key: str, to: str) -> Sent:
        fields = dict(form)
        if self.status_callback:
            fields["StatusCallback"] = self.status_callback
        response = await self.request(
            "POST",
            self.url,
            data=fields,
            auth=self.auth,
            key=key,
        )
        body: Any = success_json(response, self.provider)
        sid = body.get("sid") if isinstance(body, dict) else None
        if not isinstance(sid, str):
            raise missing_id(response, "twilio", "message 'sid'")
        log.info("%s sent via twilio to %s (%s)", self.channel, show_number(to), sid)
        return Sent(sid, self.provider)

    def origin(self, prefix: str = "") -> dict[str, str]:
        """``From`` (with the channel's prefix) or ``MessagingServiceSid``."""
        if self.service_sid:
            return {"MessagingServiceSid": self.service_sid}
        sender = self.sender or ""
        if prefix and not sender.startswith(prefix):
            sender = prefix + sender
        return {"From": sender}
