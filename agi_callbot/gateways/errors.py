"""Every way a send can fail, mapped in one place to retry-later or give-up.

The outbox only needs ``GatewayError.retryable``: timeouts, refused connections, 5xx
and 429 are worth another try (honouring ``Retry-After``); other 4xx and the provider
codes below mean the same request will fail again (a bad number, a template that does
not exist, the WhatsApp customer-service window closed). Provider messages can quote
the recipient's number, so digits runs are masked before they reach an error message.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from typing import Any

import httpx

from agi_callbot.errors import GatewayError
from agi_callbot.phone import mask_number

_DIGITS = re.compile(r"\+?\d{6,}")


class ProviderError(GatewayError):
    """A :class:`GatewayError` raised by a provider's gateway (with its ``retry_after``)."""


#: Twilio error codes (https://www.twilio.com/docs/api/errors): code → (retryable, meaning)
TWILIO_CODES: dict[int, tuple[bool, str]] = {
    20003: (False, "authentication failed (check the account SID and auth token)"),
    20404: (False, "resource not found (check the account SID or base_url)"),
    20429: (True, "too many requests"),
    21211: (False, "invalid 'To' number"),
    21212: (False, "invalid 'From' number"),
    21408: (False, "sending to this region is not enabled on the account"),
    21606: (False, "the 'From' number cannot send this kind of message"),
    21610: (False, "the recipient replied STOP (unsubscribed)"),
    21612: (False, "the message cannot be routed to this 'To' number"),
    21614: (False, "'To' is not a mobile number"),
    21655: (False, "invalid ContentSid"),
    21656: (False, "invalid ContentVariables"),
    30003: (False, "unreachable destination handset"),
    30005: (False, "unknown destination handset"),
    30006: (False, "landline or unreachable carrier"),
    30007: (False, "message filtered by the carrier"),
    30008: (False, "unknown delivery error"),
    63003: (False, "invalid WhatsApp recipient"),
    63007: (False, "WhatsApp sender (From) not found for this account"),
    63016: (False, "outside the WhatsApp customer-service window: a template is required"),
    63018: (True, "WhatsApp rate limit exceeded"),
    63024: (False, "invalid WhatsApp message recipient"),
    63027: (False, "template does not exist for this language"),
    63028: (False, "template parameter count does not match"),
}

#: Meta Graph / WhatsApp Cloud API codes: code → (retryable, meaning)
META_CODES: dict[int, tuple[bool, str]] = {
    0: (False, "authentication exception (check the access token)"),
    1: (True, "API unknown error"),
    2: (True, "API service temporarily unavailable"),
    4: (True, "application request limit reached"),
    10: (False, "permission denied (check the token's whatsapp_business_messaging scope)"),
    100: (False, "invalid parameter"),
    190: (False, "access token invalid or expired: renew the token named by token_env"),
    200: (False, "permission denied"),
    368: (False, "account temporarily blocked for policy violations"),
    80007: (True, "WhatsApp Business account rate limit reached"),
    130429: (True, "throughput rate limit reached"),
    131000: (True, "something went wrong at Meta"),
    131005: (False, "access denied"),
    131008: (False, "required parameter missing"),
    131009: (False, "parameter value not valid"),
    131016: (True, "WhatsApp service temporarily unavailable"),
    131021: (False, "recipient cannot be the sender"),
    131026: (False, "message undeliverable (not a WhatsApp user, or old app)"),
    131030: (False, "recipient not in the test number's allowed list"),
    131031: (False, "business account locked"),
    131042: (False, "business eligibility / payment issue"),
    131045: (False, "phone number not registered (certificate)"),
    131047: (False, "re-engagement: more than 24 h since the customer wrote; use a template"),
    131048: (True, "spam rate limit hit"),
    131051: (False, "unsupported message type"),
    131056: (True, "too many messages to this recipient (pair rate limit)"),
    132000: (False, "template parameter count does not match"),
    132001: (False, "template does not exist in this language"),
    132005: (False, "template text too long after filling parameters"),
    132007: (False, "template format character policy violated"),
    132012: (False, "template parameter format mismatch"),
    132015: (False, "template paused (low quality)"),
    132016: (False, "template disabled"),
    133010: (False, "phone number not registered on WhatsApp Cloud API"),
}

_TABLES = {"twilio": TWILIO_CODES, "meta": META_CODES}


def redact(text: str) -> str:
    """Mask number-like digit runs (a provider's message may quote the full recipient)."""
    return _DIGITS.sub(lambda m: mask_number(m.group(0)), text)


def from_transport(exc: httpx.HTTPError, provider: str) -> ProviderError:
    """A request that got no answer: always worth retrying (the provider saw nothing, or
    the outbox's idempotency key makes a repeat harmless where the provider supports one)."""
    if isinstance(exc, httpx.TimeoutException):
        what = {
            httpx.ConnectTimeout: "connect timeout",
            httpx.ReadTimeout: "no answer in time (read timeout)",
            httpx.WriteTimeout: "write timeout",
            httpx.PoolTimeout: "all connections busy (pool timeout)",
        }.get(type(exc), "timeout")
        return ProviderError(f"{provider}: {what}", retryable=True, code="timeout")
    if isinstance(exc, httpx.ConnectError):
        return ProviderError(f"{provider}: cannot connect ({exc})", retryable=True, code="connect")
    return ProviderError(
        f"{provider}: transport error ({type(exc).__name__})", retryable=True, code="transport"
    )


def retry_after(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds from ``Retry-After`` (a number or an HTTP date); ``None`` when absent or bad."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def provider_code(provider: str, body: Any) -> tuple[int | None, str]:
    """The provider's error code and message from a JSON error body, if there is one."""
    if not isinstance(body, dict):
        return None, ""
    if provider == "meta":
        error = body.get("error")
        if isinstance(error, dict):
            code = error.get("code")
            data = error.get("error_data")
            detail = data.get("details") if isinstance(data, dict) else None
            message = str(detail or error.get("message") or "")
            return (code if isinstance(code, int) else None), message
        return None, ""
    code = body.get("code", body.get("error_code"))
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    message = str(body.get("message") or body.get("error_message") or "")
    return (code if isinstance(code, int) else None), message


def describe(provider: str, code: int | str | None) -> str | None:
    """The meaning of a provider code (for status callbacks and error messages)."""
    try:
        number = int(code) if code is not None else None
    except (TypeError, ValueError):
        return None
    entry = _TABLES.get(provider, {}).get(number) if number is not None else None
    return entry[1] if entry else None


def from_response(
    response: httpx.Response, provider: str, *, hide: tuple[str, ...] = ()
) -> ProviderError:
    """Map a non-success HTTP answer: provider code table first, then the status class.

    ``hide``: secrets to blank out of the provider's message, should it quote them.
    """
    status = response.status_code
    body = _json(response)
    code, message = provider_code(provider, body)
    wait = retry_after(response)
    entry = _TABLES.get(provider, {}).get(code) if code is not None else None
    if entry is not None:
        retryable, meaning = entry
        text = f"{provider} error {code}: {meaning}"
        return ProviderError(
            text, retryable=retryable, status=status, code=str(code), retry_after=wait
        )
    retryable = status == 429 or status == 408 or status >= 500
    if body is None:
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        detail = f"answered {kind}, not JSON"
    else:
        for value in hide:
            message = message.replace(value, "***")
        detail = redact(message)[:200] or "no message"
    label = f"{provider} error {code}" if code is not None else f"{provider}"
    text = f"{label}: HTTP {status}: {detail}"
    if status == 429:
        text += f" (retry after {wait:g} s)" if wait is not None else " (rate limited)"
    return ProviderError(
        text,
        retryable=retryable,
        status=status,
        code=str(code) if code is not None else None,
        retry_after=wait,
    )


def missing_id(response: httpx.Response, provider: str, what: str) -> ProviderError:
    """A success answer without the provider's message id: not retried (the message may
    have gone out, and a second try could send it twice)."""
    return ProviderError(
        f"{provider}: the answer has no {what}",
        retryable=False,
        status=response.status_code,
        code="no-id",
    )


def success_json(response: httpx.Response, provider: str) -> Any:
    """The JSON body of a success answer; a success that is not JSON is a permanent error
    (a wrong ``base_url`` hitting a web page): retrying cannot fix it and might double-send."""
    body = _json(response)
    if body is None:
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        raise ProviderError(
            f"{provider}: HTTP {response.status_code} answered {kind}, not JSON "
            "(check base_url); the message may or may not have been accepted",
            retryable=False,
            status=response.status_code,
            code="not-json",
        )
    return body


def _json(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None
