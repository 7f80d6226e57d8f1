"""Parsers of the action kinds (what blocks, menu options and ``on_hangup`` request)."""

from __future__ import annotations

import re
from typing import Any

from yaml.nodes import Node, ScalarNode

from agi_callbot.flow import model as m
from agi_callbot.flow.expr import ExprError, parse_template
from agi_callbot.flow.parse.values import (
    LANGUAGE,
    LANGUAGE_HINT,
    VAR_NAME,
    Context,
    action,
    action_fields,
    actions,
    put,
    values,
)

SENDER = r"\+?[0-9]{3,15}|[A-Za-z0-9 ]{1,11}"
TEMPLATE_NAME = r"[a-z0-9_]{1,512}"
OUTBOX_FALLBACKS = frozenset({"sms", "whatsapp", "email"})


def _fallback(
    e: dict[str, tuple[ScalarNode, Node]], ctx: Context, kind: str
) -> tuple[m.Action, ...]:
    if "fallback" not in e:
        return ()
    return actions(e["fallback"][1], ctx, f"{kind} fallback", OUTBOX_FALLBACKS)


def _to(e: dict[str, tuple[ScalarNode, Node]], ctx: Context, kind: str) -> str | None:
    return ctx.reader.template(e["to"][1], f"{kind} to") if "to" in e else "${caller}"


SMS_KEYS = ("to", "from", "text", "fallback")
WHATSAPP_KEYS = ("to", "template", "language", "params", "text", "window_open", "fallback")
EMAIL_KEYS = ("to", "subject", "body", "from", "fallback")
WEBHOOK_KEYS = ("url", "method", "body", "headers", "save_as", "timeout")
OPTIN_KEYS = ("channel", "number")


@action("sms", SMS_KEYS)
def parse_sms(node: Node, ctx: Context) -> m.ActionSpec | None:
    r = ctx.reader
    e = action_fields(node, ctx, "sms", ("text",))
    if e is None:
        return None
    body, to = r.template(e["text"][1], "sms text"), _to(e, ctx, "sms")
    hint = " (a number +34910000000 or an alphanumeric sender of up to 11 characters)"
    sender = r.string(e["from"][1], "sms from", pattern=SENDER, hint=hint) if "from" in e else None
    if body is None or to is None:
        return None
    return m.Sms(body, to, sender, _fallback(e, ctx, "sms"))


@action("whatsapp", WHATSAPP_KEYS)
def parse_whatsapp(node: Node, ctx: Context) -> m.ActionSpec | None:
    r = ctx.reader
    e = action_fields(node, ctx, "whatsapp")
    if e is None:
        return None
    if ("template" in e) == ("text" in e):
        r.error(node, "whatsapp needs template (an approved one) or text, not both")
        return None
    hint = " (an approved template's name: lower-case letters, digits and _)"
    name = body = None
    if "template" in e:
        name = r.string(e["template"][1], "template", pattern=TEMPLATE_NAME, hint=hint)
    else:
        body = r.template(e["text"][1], "whatsapp text")
    language = ctx.language
    if "language" in e:
        language = r.string(e["language"][1], "language", pattern=LANGUAGE, hint=LANGUAGE_HINT)
    params: list[str] = []
    if "params" in e:
        for item in r.sequence(e["params"][1], "params") or []:
            value = r.template(item, "a template parameter")
            if value is not None:
                params.append(value)
    window = r.boolean(e["window_open"][1], "window_open") if "window_open" in e else False
    to = _to(e, ctx, "whatsapp")
    if (name is None and body is None) or language is None or to is None:
        return None
    fallback = _fallback(e, ctx, "whatsapp")
    return m.WhatsApp(name, language, tuple(params), to, fallback, body, bool(window))


@action("email", EMAIL_KEYS)
def parse_email(node: Node, ctx: Context) -> m.ActionSpec | None:
    r = ctx.reader
    e = action_fields(node, ctx, "email", ("to", "subject", "body"))
    if e is None:
        return None
    to = r.template(e["to"][1], "email to")
    if to is not None and "${" not in to and "@" not in to:
        r.error(e["to"][1], f"email to {to!r} is not an e-mail address")
    subject, body = r.template(e["subject"][1], "subject"), r.template(e["body"][1], "body")
    sender = r.template(e["from"][1], "email from") if "from" in e else None
    if to is None or subject is None or body is None:
        return None
    return m.Email(to, subject, body, sender, _fallback(e, ctx, "email"))


@action("webhook", WEBHOOK_KEYS)
def parse_webhook(node: Node, ctx: Context) -> m.ActionSpec | None:
    r = ctx.reader
    e = action_fields(node, ctx, "webhook", ("url",))
    if e is None:
        return None
    url = r.template(e["url"][1], "url")
    if url is not None and not re.match(r"https?://", url):
        r.error(e["url"][1], f"url {url!r} must start with http:// or https://")
    kwargs: dict[str, Any] = {}
    if "method" in e:
        hint = " (GET, POST, PUT, PATCH or DELETE)"
        method = r.string(e["method"][1], "method", pattern="GET|POST|PUT|PATCH|DELETE", hint=hint)
        put(kwargs, "method", method)
    if "body" in e:
        kwargs["body"] = r.plain(e["body"][1])
        check_templates(kwargs["body"], e["body"][1], ctx)
    if "headers" in e:
        headers = {}
        for name, (_, value_node) in (r.mapping(e["headers"][1], "headers") or {}).items():
            value = r.template(value_node, f"header {name}")
            if value is not None:
                headers[name] = value
        kwargs["headers"] = headers
    if "save_as" in e:
        hint = " (a variable name)"
        put(kwargs, "save_as", r.string(e["save_as"][1], "save_as", pattern=VAR_NAME, hint=hint))
    if "timeout" in e:
        put(kwargs, "timeout", r.duration(e["timeout"][1], "timeout", 0.1, 30))
    return m.Webhook(url, **kwargs) if url else None


def check_templates(value: Any, node: Node, ctx: Context) -> None:
    """Every string inside a free-form value (a webhook body) must be a valid template."""
    if isinstance(value, dict):
        for item in value.values():
            check_templates(item, node, ctx)
    elif isinstance(value, list):
        for item in value:
            check_templates(item, node, ctx)
    elif isinstance(value, str):
        try:
            parse_template(value)
        except ExprError as exc:
            ctx.reader.error(node, f"body: {exc.message} in {value!r}")


@action("optin", OPTIN_KEYS)
def parse_optin(node: Node, ctx: Context) -> m.ActionSpec | None:
    r = ctx.reader
    e = action_fields(node, ctx, "optin", ("channel",))
    if e is None:
        return None
    hint = " (sms, whatsapp or email)"
    channel = r.string(e["channel"][1], "channel", pattern="sms|whatsapp|email", hint=hint)
    number = r.template(e["number"][1], "number") if "number" in e else "${caller}"
    return m.OptIn(channel, number) if channel and number else None


@action("set")
def parse_set_action(node: Node, ctx: Context) -> m.ActionSpec | None:
    return m.SetVars(values(node, ctx, "set"))
