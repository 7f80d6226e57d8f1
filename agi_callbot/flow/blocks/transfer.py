"""``transfer``: hand the caller to a team (``Queue``) or an agent (``Dial``).

Team: AMI is asked first whether anyone is available (``None`` — no AMI, or no
answer in time — means go ahead unchecked); nobody → ``on_nobody`` before the caller
waits. Then the announcement, then ``EXEC Queue team,<options>,,,<max_wait>`` where
the options are ``m(<music>)`` for a per-call hold music class (never
``CHANNEL(musicclass)``: it beats the team's own class, transcript 41) and ``c`` when
the block has a ``next`` (the caller comes back to the flow after the agent hangs
up: QUEUESTATUS=CONTINUE). ``QUEUESTATUS`` picks the branch (TIMEOUT, FULL,
JOINEMPTY…); none set means the queue answered (``ANSWEREDTIME`` > 0, transcript 09).

Agent: ``EXEC Dial agent,<ring>[,<options>]`` (``g`` with a ``next``, ``m(<music>)``),
then ``DIALSTATUS`` (ANSWER, BUSY, NOANSWER, CHANUNAVAIL, CONGESTION).

How long the caller waited in the queue is recorded with each team transfer
(``wait_s``), until an agent answered or the queue gave up (TIMEOUT, FULL,
LEAVEEMPTY…, or the caller hung up). Asterisk leaves no wait figure in a channel
variable (``QEHOLDTIME`` only with ``setqueueentryvar``; ``DIALEDTIME`` counts from
the channel's creation, transcript 38), so it is measured here: the time ``EXEC
Queue`` took on the services' clock, less ``ANSWEREDTIME`` (whole seconds talked,
rounded down: the wait of an answered call reads up to 1 s long) — ``wait_from:
measured``. With AMI, the ``HoldTime`` of Asterisk's own ``AgentConnect`` for this
channel replaces it for answered calls (whole seconds) — ``wait_from: asterisk``.

Unanswered with no branch for it: ``NO_AGENT`` and the call goes back to the dialplan
(voicemail, a plain queue). The caller leaving while waiting runs the transfer's own
``on_hangup`` actions after the call; once a queue or agent answered, the call counts
as ``TRANSFERRED`` however it ends.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from agi_callbot import metrics
from agi_callbot.errors import Hangup
from agi_callbot.flow.blocks.call import NO_AGENT, TRANSFERRED, Call, End, Next, Outcome
from agi_callbot.flow.blocks.prompt import play
from agi_callbot.flow.blocks.registry import runs
from agi_callbot.flow.model import Block, Transfer
from agi_callbot.services import Availability

log = logging.getLogger("agi_callbot.flow")

ANSWER = "ANSWER"
NOBODY = "NOBODY"
HANGUP = "HANGUP"


@runs("transfer")
async def run(call: Call, block: Block) -> Outcome:
    spec: Transfer = block.spec
    try:
        if spec.team:
            return await _to_team(call, block, spec, spec.team)
        assert spec.agent, "the loader requires a team or an agent"
        return await _to_agent(call, block, spec, spec.agent)
    except Hangup:
        if not call.transferred and spec.on_hangup:
            label = f"{block.name}.on_hangup"
            if call.current_flow is not None and call.current_flow is not call.flow:
                label = f"{call.current_flow.name}:{label}"  # post-call runs in the main flow
            call.post_call.append((label, spec.on_hangup))
        raise


async def _to_team(call: Call, block: Block, spec: Transfer, team: str) -> Outcome:
    if spec.check_available:
        availability = await _availability(call, team)
        if availability is not None and (not availability.exists or availability.available < 1):
            if not availability.exists:
                log.warning("team %s: no such queue in Asterisk", team)
            return _unanswered(call, block, spec, team, NOBODY)
    if spec.announce is not None:
        await play(call, spec.announce)
    options = ("c" if block.next else "") + (f"m({spec.music})" if spec.music else "")
    args = [team, options]
    if spec.max_wait:
        args += ["", "", str(max(1, round(spec.max_wait)))]
    elif not options:
        args = [team]
    call.note("transfer", kind="team", target=team, music=spec.music)
    started = call.services.clock.now()
    await _exec(call, block, team, "Queue", args, started)
    status = (await call.channel.get_variable("QUEUESTATUS") or "").upper()
    talked = await _talked(call)
    wait = await _wait(call, team, started, talked if status in ("", "CONTINUE") else None)
    if status == "CONTINUE" or (not status and talked):
        return _answered_outcome(call, block, team, status or ANSWER, wait)
    return _unanswered(call, block, spec, team, status or "UNKNOWN", wait)


async def _to_agent(call: Call, block: Block, spec: Transfer, agent: str) -> Outcome:
    if spec.announce is not None:
        await play(call, spec.announce)
    options = ("g" if block.next else "") + (f"m({spec.music})" if spec.music else "")
    args = [agent, str(max(1, round(spec.ring)))] + ([options] if options else [])
    call.note("transfer", kind="agent", target=agent)
    await _exec(call, block, agent, "Dial", args)
    status = (await call.channel.get_variable("DIALSTATUS") or "").upper()
    if status == ANSWER:
        return _answered_outcome(call, block, agent, status)
    return _unanswered(call, block, spec, agent, status or "UNKNOWN")


async def _exec(
    call: Call, block: Block, target: str, app: str, args: list[str], started: float = 0.0
) -> None:
    """Run Queue/Dial; the caller leaving while waiting (or after talking) unwinds the flow."""
    try:
        await call.channel.exec(app, *args)
    except Hangup:
        if app == "Dial":
            answered = (await call.channel.get_variable("DIALSTATUS") or "").upper() == ANSWER
            wait = None
        else:
            talked = await _talked(call)
            answered = bool(talked)
            wait = await _wait(call, target, started, talked if answered else None)
        if answered:
            call.transferred = True
        _record(call, block, target, ANSWER if answered else HANGUP, wait)
        raise


async def _talked(call: Call) -> int:
    """Queue leaves QUEUESTATUS unset when answered but sets ANSWEREDTIME (whole seconds
    talked, rounded down; 0 or empty when nobody answered, transcripts 09-12). Readable
    after a hangup."""
    value = await call.channel.get_variable("ANSWEREDTIME") or ""
    try:
        return max(int(value), 0)
    except ValueError:
        return 0


async def _wait(call: Call, team: str, started: float, talked: int | None) -> dict[str, Any]:
    """The caller's wait in ``team``'s queue (see the module doc); ``talked`` is None when
    nobody answered."""
    waited = max(call.services.clock.now() - started - (talked or 0), 0.0)
    source = "measured"
    if talked:
        held = _asterisk_hold_time(call)
        if held is not None:
            waited, source = float(held), "asterisk"
    metrics.transfer_wait_seconds.labels(team=team, answered=str(bool(talked)).lower()).observe(
        waited
    )
    return {"wait_s": round(waited, 2), "wait_from": source}


def _asterisk_hold_time(call: Call) -> int | None:
    """AgentConnect's HoldTime for this channel, when the AMI queue model saw it."""
    hold_time = getattr(call.services.teams, "hold_time", None)
    uniqueid = call.uniqueid
    if hold_time is None or not uniqueid:
        return None
    try:
        return hold_time(uniqueid)
    except Exception:  # the queue model must never cost a call its record
        return None


def _answered_outcome(
    call: Call, block: Block, target: str, status: str, wait: dict[str, Any] | None = None
) -> Outcome:
    call.transferred = True
    _record(call, block, target, status, wait)
    if block.next and not call.channel.dead:
        return Next(block.next)
    return End(TRANSFERRED, target, hangup=True)


def _unanswered(
    call: Call,
    block: Block,
    spec: Transfer,
    target: str,
    status: str,
    wait: dict[str, Any] | None = None,
) -> Outcome:
    _record(call, block, target, status, wait)
    branch = spec.branch_for(status, block.next)
    if branch:
        return Next(branch)
    return End(NO_AGENT, f"{target}:{status}", hangup=False)


def _record(
    call: Call, block: Block, target: str, outcome: str, wait: dict[str, Any] | None = None
) -> None:
    """One transfer in the call record; a team transfer that reached the queue has its
    wait (``wait_s``, ``wait_from``)."""
    entry = {"block": block.name, "target": target, "outcome": outcome, **(wait or {})}
    call.transfers.append(entry)
    call.note("transfer_result", target=target, outcome=outcome, **(wait or {}))


async def _availability(call: Call, team: str) -> Availability | None:
    """Ask AMI with a deadline; no answer means "go ahead unchecked"."""
    try:
        async with asyncio.timeout(call.settings.ami.timeout + 0.5):
            return await call.services.teams.availability(team)
    except TimeoutError:
        log.warning("team %s: no availability answer in time; transferring unchecked", team)
    except Exception as exc:  # AMI trouble must not cost the caller the transfer
        log.warning("team %s: availability check failed (%s); transferring unchecked", team, exc)
    return None
