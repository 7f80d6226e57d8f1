"""Run one call through one pinned flow version, and always leave a status and a record.

The order of a call, and why:

1. ``SET VARIABLE CALLBOT_STATUS FAILED`` is the first command: a node that dies
   mid-call leaves ``FAILED`` for the dialplan to fail over on.
2. ``ANSWER``; ``CHANNEL(language)`` when the call's language is not the channel's
   (so Asterisk's own prompts match); then the blocks from ``start``: each block's
   actions on entry, then its kind's runtime (:mod:`agi_callbot.flow.blocks`), at most
   ``max_steps`` blocks.
3. ``Hangup`` (the caller left) is control flow: it unwinds the blocks and nothing
   logs it as an error. A flow's own surprises (a
   :class:`~agi_callbot.errors.FlowRuntimeError` such as a variable not set, a prompt
   that cannot be made, a refused command) take the flow's ``on_error`` block once;
   without one, or failing again, the call goes back to the dialplan with ``FAILED``.
   Anything else is a bug in agi-callbot: logged with its traceback as one, and the
   call goes back to the dialplan with ``FAILED`` at once.
4. ``finally``: ``CALLBOT_STATUS`` / ``CALLBOT_RESULT`` (they work on a dead channel),
   the hang-up (or the hand-back to the dialplan for ``return`` / ``NO_AGENT`` /
   ``FAILED``), the post-call actions (``on_hangup``: queued in the outbox, however the
   call ended), the call record. Each step is guarded on its own: one failing never
   skips the next.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import agi_callbot.flow.blocks  # noqa: F401 - registers every block kind
from agi_callbot.channel import Channel
from agi_callbot.config import Settings
from agi_callbot.errors import CallbotError, CommandError, Hangup, ProtocolError, StepLimit
from agi_callbot.flow.blocks.actions import run_actions, run_post_call
from agi_callbot.flow.blocks.call import (
    COMPLETED,
    FAILED,
    HANGUP,
    TRANSFERRED,
    Call,
    End,
    call_variables,
    caller_problem,
)
from agi_callbot.flow.blocks.registry import runner_for
from agi_callbot.flow.model import Flow
from agi_callbot.services import Services

log = logging.getLogger("agi_callbot.flow")

#: a language tag from the AGI URL (``?language=en-GB``); anything else is ignored
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")


@dataclass
class CallResult:
    """How a call ended, what it did (for simulate, flow tests and the call record)."""

    status: str
    result: str
    record: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""

    @property
    def path(self) -> list[str]:
        return list(self.record.get("path", []))


async def run_call(
    channel: Channel,
    flow: Flow,
    services: Services,
    settings: Settings,
    variables: Mapping[str, Any] | None = None,
    *,
    subflows: Mapping[str, Flow] | None = None,
) -> CallResult:
    """Run ``flow`` on ``channel``; never raises for anything that happens during the call."""
    env = channel.env
    language = env.query.get("language", "")
    if not _LANGUAGE.fullmatch(language):
        language = flow.language
    call = Call(
        channel=channel,
        flow=flow,
        services=services,
        settings=settings,
        variables=call_variables(
            env,
            language=language,
            region=flow.region or settings.defaults.region,
            flow_name=flow.name,
            defaults=flow.variables,
        ),
        language=language,
        subflows=dict(subflows or {}),
        current_flow=flow,
    )
    if not call.variables.get("caller"):
        call.caller_problem, call.caller_given = caller_problem(
            env, flow.region or settings.defaults.region
        )
    for name, value in (variables or {}).items():
        call.set(name, value)
    started = services.clock.now()
    end = End(FAILED, hangup=False)
    error = ""
    active = getattr(services, "active", None)  # the calls in progress, when kept
    if active is not None:
        active.started(call)
    try:
        await channel.set_variable("CALLBOT_STATUS", FAILED)
        await channel.answer()
        asterisk_language = call.language.replace("-", "_")
        if asterisk_language != env.language:
            # Asterisk's own prompts (queue announcements, stock sounds) follow it (39)
            await channel.set_variable("CHANNEL(language)", asterisk_language)
        end = await _run(call)
    except Hangup:
        end = End(TRANSFERRED if call.transferred else HANGUP, call.block, hangup=False)
    except ProtocolError as exc:
        error = f"AGI connection unusable: {exc}"
        log.error("call %s: %s", call.uniqueid, error)
    except CommandError as exc:  # Asterisk refused a command (510/520): one line, no traceback
        error = f"Asterisk refused {exc.command or 'a command'}: {exc}"
        log.error("call %s: %s", call.uniqueid, error)
    except asyncio.CancelledError:
        error = "cancelled (server shutting down)"
        raise
    except CallbotError as exc:  # outside any block (the call's set-up)
        error = f"{type(exc).__name__}: {exc}"
        log.error("call %s: %s", call.uniqueid, error)
    except Exception as exc:  # not a CallbotError: a bug in agi-callbot, not in the flow
        error = f"bug in agi-callbot: {type(exc).__name__}: {exc}"
        log.exception("call %s: bug in agi-callbot at block %s", call.uniqueid, call.block)
    finally:
        if call.transferred and end.status == COMPLETED:
            end = End(TRANSFERRED, end.result, end.hangup)
        try:
            result = await _finish(call, end, error or call.error, started)
        finally:
            if active is not None:
                active.ended(call)
    return result


async def _run(call: Call) -> End:
    """The blocks, with the flow's error branch for runtime surprises."""
    start: str | None = call.flow.start
    handled = False
    while True:
        try:
            outcome = await walk(call, call.flow, start)
        except (Hangup, ProtocolError):
            raise  # the caller left, or the connection is unusable: no error branch
        except StepLimit as exc:
            call.error = str(exc)
            log.error("%s", exc)
            return End(FAILED, "max_steps", hangup=False)
        except CallbotError as exc:  # a FlowRuntimeError, a prompt or command refused...
            call.error = f"{type(exc).__name__}: {exc}"
            call.note("error", error=call.error)
            log.error("block %s failed: %s", call.block, call.error)
            if call.flow.on_error and not handled:
                handled = True
                start = call.flow.on_error
                continue
            return End(FAILED, call.block, hangup=False)
        return outcome or End(COMPLETED, call.block, hangup=True)


async def walk(call: Call, flow: Flow, start: str | None = None) -> End | None:
    """Run ``flow``'s blocks from ``start``; ``None`` when it runs out of blocks."""
    call.current_flow = flow
    limit = call.flow.max_steps or call.settings.flows.max_steps
    name: str | None = start or flow.start
    while name is not None:
        call.steps += 1
        if call.steps > limit:
            raise StepLimit(f"flow {call.flow.name}: more than {limit} blocks in one call")
        block = flow.blocks[name]
        call.block = name
        call.path.append(name if flow is call.flow else f"{flow.name}:{name}")
        if block.actions:
            await run_actions(call, block.actions, name)
        outcome = await runner_for(block.kind)(call, block)
        if isinstance(outcome, End):
            return outcome
        name = outcome.block
    return None


async def _finish(call: Call, end: End, error: str, started: float) -> CallResult:
    channel = call.channel
    for name, value in (("CALLBOT_STATUS", end.status), ("CALLBOT_RESULT", end.result)):
        try:
            await channel.set_variable(name, value)
        except Exception as exc:  # the connection may be gone: keep finishing
            # the value may be the caller's (a result from a webhook answer): not logged
            log.warning("could not set %s (%s)", name, type(exc).__name__)
    try:
        if end.hangup and not channel.dead:
            await channel.hangup()
        elif not end.hangup:
            await channel.close()
    except Exception as exc:
        log.debug("ending the channel: %s", exc)
    call.current_flow = call.flow
    for where, actions in call.post_call:
        call.block = where
        await run_post_call(call, actions, where)
    if call.flow.on_hangup:
        call.block = "on_hangup"
        await run_post_call(call, call.flow.on_hangup, "on_hangup")
    ended = call.services.clock.now()
    record = {
        "uniqueid": call.uniqueid,
        "flow": call.flow.name,
        "version": call.flow.version,
        "caller": call.variables.get("caller", ""),
        "caller_problem": call.caller_reason,
        "channel": call.variables.get("channel", ""),
        "language": call.language,
        "started": started,
        "ended": ended,
        "duration": round(ended - started, 3),
        "status": end.status,
        "result": end.result,
        "last_block": call.path[-1] if call.path else "",
        "path": list(call.path),
        "digits": list(call.digits),
        "transfers": list(call.transfers),
        "messages": list(call.messages),
        "steps": call.steps,
        "error": error,
    }
    try:
        await call.services.records.write(record)
    except Exception as exc:  # a full disk must not take the call's status
        log.error("call record not written: %s", exc)
    log.info(
        "call ended: %s after %d blocks (%s)%s",
        end.status,
        len(call.path),
        " > ".join(call.path[-5:]),
        f"; error: {error}" if error else "",
    )
    return CallResult(end.status, end.result, record, list(call.events), error)
