"""Actions on blocks, menu options and the end of the call: messages, opt-ins, variables.

Messages (SMS, WhatsApp, e-mail, webhooks) are handed to the outbox and the call goes
on at once: delivery, retries and the opt-in/anonymous-caller rules are the outbox's.
An outbox that fails or does not answer in time costs the message (logged as an
error), never the call; a mistake in the flow (a variable that is not set) does
take the flow's error branch.
Each action has an idempotency key ``<uniqueid>/<block>/<index>``, so a flow that
loops back through a block, or a node that re-runs a call's post-call work, never
sends the same message twice. A webhook with ``save_as`` is the one exception to
"never wait": the flow needs its answer, so the call waits up to its ``timeout``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from agi_callbot.errors import GatewayError
from agi_callbot.flow import model as m
from agi_callbot.flow.blocks.call import Call
from agi_callbot.flow.escaping import fill_url, header_value
from agi_callbot.flow.expr import interpolate, parse_template
from agi_callbot.services import Message, WebhookRequest, fallback_entry

log = logging.getLogger("agi_callbot.flow")

#: an outbox that keeps a caller waiting longer than this is treated as down for this action
ENQUEUE_DEADLINE_S = 5.0


async def run_actions(call: Call, actions: Iterable[m.Action], where: str) -> None:
    """Run actions in order during the call; a runtime surprise propagates (error branch)."""
    for index, action in enumerate(actions):
        await run_action(call, action, f"{_scope(call, where)}/{index}")


async def run_post_call(call: Call, actions: Iterable[m.Action], where: str) -> None:
    """Run post-call actions: each one on its own, a failure is logged and the rest still run."""
    for index, action in enumerate(actions):
        try:
            await run_action(call, action, f"{_scope(call, where)}/{index}")
        except Exception as exc:  # one broken action must not stop the others
            log.error("post-call action %s %s failed: %s", where, action.kind, exc)
            call.note("action_failed", kind=action.kind, where=where, error=str(exc))


def _scope(call: Call, where: str) -> str:
    """``<uniqueid>/<block>``, with the sub-flow's name when a sub-flow is running."""
    flow = call.current_flow
    if flow is not None and flow is not call.flow:
        where = f"{flow.name}:{where}"
    return f"{call.uniqueid}/{where}"


async def run_action(call: Call, action: m.Action, key: str) -> None:
    if action.when is not None and not action.when.expr.test(call.variables):
        call.note("action_skipped", kind=action.kind, reason=f"when: {action.when.source}")
        return
    handler = _HANDLERS.get(type(action.spec))
    if handler is None:
        raise TypeError(f"no runtime for action kind {action.kind!r}")
    await handler(call, action.spec, key)


def render(value: Any, variables: Mapping[str, Any]) -> Any:
    """Interpolate every string inside ``value`` (webhook bodies are nested mappings)."""
    if isinstance(value, str):
        return interpolate(value, variables)
    if isinstance(value, Mapping):
        return {str(k): render(v, variables) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render(v, variables) for v in value]
    return value


def message_fields(spec: m.ActionSpec, variables: Mapping[str, Any]) -> tuple[str, str, dict]:
    """``(channel, to, payload)`` of a message action, variables filled in."""
    v = variables
    if isinstance(spec, m.Sms):
        payload = {"text": interpolate(spec.text, v)}
        if spec.sender:
            payload["from"] = interpolate(spec.sender, v)
        return "sms", interpolate(spec.to, v), payload
    if isinstance(spec, m.WhatsApp):
        if spec.template:
            payload = {
                "template": spec.template,
                "language": spec.language,
                "params": [interpolate(p, v) for p in spec.params],
            }
        else:
            text = interpolate(spec.text or "", v)
            payload = {"text": text, "language": spec.language, "window_open": spec.window_open}
        return "whatsapp", interpolate(spec.to, v), payload
    if isinstance(spec, m.Email):
        payload = {"subject": interpolate(spec.subject, v), "body": interpolate(spec.body, v)}
        if spec.sender:
            payload["from"] = interpolate(spec.sender, v)
        return "email", interpolate(spec.to, v), payload
    if isinstance(spec, m.Webhook):
        payload = {
            "data": render(spec.body, v) if spec.body is not None else {},
            "method": spec.method,
            "headers": {
                name: header_value(name, str(value))
                for name, value in render(dict(spec.headers), v).items()
            },
        }
        return "webhook", fill_url(spec.url, v), payload
    raise TypeError(f"not a message action: {spec!r}")


async def _message(call: Call, spec: m.ActionSpec, key: str) -> None:
    if isinstance(spec, m.Webhook) and spec.save_as:
        await _webhook_now(call, spec, key)
        return
    channel, to, payload = message_fields(spec, call.variables)
    if not to.strip() and call.caller_given and _names_caller(spec):
        # ${caller} is empty because the number is not valid (not withheld): the outbox
        # gets it as given, so it records that reason rather than "anonymous caller"
        to = call.caller_given
    fallback = tuple(
        fallback_entry(*message_fields(f.spec, call.variables))
        for f in getattr(spec, "fallback", ())
    )
    message = Message(
        channel=channel,
        to=to,
        payload=payload,
        call_uniqueid=call.uniqueid,
        flow=call.flow_name,
        block=call.block,
        fallback=fallback,
    )
    try:
        async with asyncio.timeout(ENQUEUE_DEADLINE_S):
            message_id = await call.services.outbox.enqueue(message, key=key)
    except Exception as exc:  # the outbox's trouble must not cost the caller the call
        log.error("%s for %s not queued (key %s): %s", channel, call.block, key, exc)
        call.note("action_failed", kind=channel, where=call.block, error=str(exc) or "timeout")
        return
    entry = {"channel": channel, "to": to, "block": call.block, "key": key, "id": message_id}
    if fallback:
        entry["fallback"] = [f["channel"] for f in fallback]
    call.messages.append(entry)
    call.note("message", channel=channel, to=to, key=key, payload=payload)


def _template_names(text: str) -> frozenset[str]:
    return parse_template(text).variables()


def _names_caller(spec: m.ActionSpec) -> bool:
    """Does the message's destination come from ``${caller}``?"""
    return "caller" in _template_names(str(getattr(spec, "to", "") or ""))


async def _webhook_now(call: Call, spec: m.Webhook, key: str) -> None:
    """Call the webhook during the call and keep its JSON answer in ``save_as``.

    It goes through the webhook gateway (``services.webhooks``: settings' headers,
    signature, idempotency key), waiting at most the action's ``timeout``. A failure
    (timeout, error status, not JSON) leaves the variable unset: a later
    ``${order.status}`` then takes the flow's error branch instead of guessing.
    """
    _, url, payload = message_fields(spec, call.variables)
    assert spec.save_as is not None
    try:
        async with asyncio.timeout(spec.timeout + 1.0):  # the gateway's own deadline first
            request = WebhookRequest(
                spec.method,
                url,
                data=payload["data"],
                headers=payload["headers"],
                timeout=spec.timeout,
                key=key,
                call=call.uniqueid,
                flow=call.flow_name,
                block=call.block,
            )
            answer = await call.services.webhooks.fetch(request)
    except (GatewayError, TimeoutError) as exc:
        reason = str(exc) or "no answer in time"
        log.warning("webhook %s for %s failed: %s", spec.method, spec.save_as, reason)
        call.note("webhook", url=url, save_as=spec.save_as, ok=False, error=reason)
        return
    call.set(spec.save_as, answer)
    call.note("webhook", url=url, save_as=spec.save_as, ok=True)


async def _optin(call: Call, spec: m.OptIn, key: str) -> None:
    number = interpolate(spec.number, call.variables)
    if not number:
        reason = call.caller_problem if "caller" in _template_names(spec.number) else ""
        call.note(
            "optin", channel=spec.channel, recorded=False, reason=reason or "anonymous caller"
        )
        return
    source = f"call {call.uniqueid} {call.flow_name}.{call.block}"
    try:
        async with asyncio.timeout(ENQUEUE_DEADLINE_S):
            recorded = await call.services.optins.record(number, spec.channel, source)
    except Exception as exc:  # the ledger's trouble must not cost the caller the call
        log.error("opt-in for %s not recorded: %s", spec.channel, exc)
        call.note("optin", channel=spec.channel, recorded=False, reason=str(exc) or "timeout")
        return
    call.note("optin", channel=spec.channel, recorded=recorded is not False)


async def _set(call: Call, spec: m.SetVars, key: str) -> None:
    apply_set(call, spec)


def apply_set(call: Call, spec: m.SetVars) -> None:
    """Evaluate every value against the variables as they were before this ``set``."""
    before = dict(call.variables)
    for name, value in spec.values.items():
        if isinstance(value, m.Condition):
            result = value.expr.evaluate(before)
        elif isinstance(value, str):
            result = interpolate(value, before)
        else:
            result = value
        call.set(name, result)
        call.note("set", name=name, value=result)


_HANDLERS: dict[type, Callable[[Call, Any, str], Any]] = {
    m.Sms: _message,
    m.WhatsApp: _message,
    m.Email: _message,
    m.Webhook: _message,
    m.OptIn: _optin,
    m.SetVars: _set,
}
