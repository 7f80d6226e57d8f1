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

Unanswered with no branch for it: ``NO_AGENT`` and the call goes back to the dialplan
(voicemail, a plain queue). The caller leaving while waiting runs the transfer's own
``on_hangup`` actions after the call; once a queue or agent answered, the call counts
as ``TRANSFERRED`` however it ends.
"""

from __future__ import annotations

import asyncio
import logging

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
    await _exec(call, block, team, "Queue", args)
    status = (await call.channel.get_variable("QUEUESTATUS") or "").upper()
    if status == "CONTINUE" or (not status and await _answered(call, "Queue")):
        return _answered_outcome(call, block, team, status or ANSWER)
    return _unanswered(call, block, spec, team, status or "UNKNOWN")


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


async def _exec(call: Call, block: Block, target: str, app: str, args: list[str]) -> None:
    """Run Queue/Dial; the caller leaving while waiting (or after talking) unwinds the flow."""
    try:
        await call.channel.exec(app, *args)
    except Hangup:
        if await _answered(call, app):
            call.transferred = True
            _record(call, block, target, ANSWER)
        else:
            _record(call, block, target, HANGUP)
        raise


async def _answered(call: Call, app: str) -> bool:
    """Dial says ANSWER in DIALSTATUS; Queue leaves QUEUESTATUS unset when answered but sets
    ANSWEREDTIME (seconds talked; 0 or empty when nobody answered). Both readable after a
    hangup."""
    if app == "Dial":
        return (await call.channel.get_variable("DIALSTATUS") or "").upper() == ANSWER
    value = await call.channel.get_variable("ANSWEREDTIME") or ""
    try:
        return int(value) > 0
    except ValueError:
        return False


def _answered_outcome(call: Call, block: Block, target: str, status: str) -> Outcome:
    call.transferred = True
    _record(call, block, target, status)
    if block.next and not call.channel.dead:
        return Next(block.next)
    return End(TRANSFERRED, target, hangup=True)


def _unanswered(call: Call, block: Block, spec: Transfer, target: str, status: str) -> Outcome:
    _record(call, block, target, status)
    branch = spec.branch_for(status, block.next)
    if branch:
        return Next(branch)
    return End(NO_AGENT, f"{target}:{status}", hangup=False)


def _record(call: Call, block: Block, target: str, outcome: str) -> None:
    call.transfers.append({"block": block.name, "target": target, "outcome": outcome})
    call.note("transfer_result", target=target, outcome=outcome)


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
