"""Run a flow against the in-memory Asterisk and tell the call as a transcript.

``agi-callbot simulate`` and flow test cases (:mod:`agi_callbot.sim.cases`) use the
real runner, the real prompt service and a real outbox; only the world around the
call is scripted: what the caller presses (``"1,wait:6,2,hangup"``), how queues and
agents answer, whether AMI says anyone is free, and the time of day (for ``hours``).

A simulation never sends a message: its outbox and call records live in a throw-away
folder and no worker runs, so messages stop at ``queued`` (or ``skipped`` with the
outbox's reason). A webhook with ``save_as`` is called, as the flow needs its answer.
The prompt cache is the real one, so prompts rendered here are ready for real calls.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from agi_callbot.config import Settings
from agi_callbot.errors import SessionNotStarted
from agi_callbot.flow.blocks.call import FAILED
from agi_callbot.flow.model import Flow
from agi_callbot.flow.runner import CallResult, run_call
from agi_callbot.gateways.webhook import in_call_webhooks
from agi_callbot.outbox.service import Outbox
from agi_callbot.records import CallRecords
from agi_callbot.services import Availability, Services, SystemClock
from agi_callbot.sim.asterisk import MemoryAsterisk
from agi_callbot.sim.setup import AsteriskSetup
from agi_callbot.tts.service import PromptService


class FixedClock:
    """The simulated call happens at ``at`` (a Unix time): ``hours`` blocks read it."""

    def __init__(self, at: float) -> None:
        self.at = at

    def now(self) -> float:
        return self.at


class CallClock:
    """The call's time on the in-memory Asterisk's virtual clock, from ``at`` (or from
    when the simulation started): a queue wait, the call's duration and ``hours`` read
    the time the simulated call has reached, not the few milliseconds it took to run."""

    def __init__(self, at: float | None, asterisk: MemoryAsterisk | None = None) -> None:
        self.at = time.time() if at is None else at
        self.asterisk = asterisk

    def now(self) -> float:
        return self.at + (self.asterisk.now if self.asterisk is not None else 0.0)


class ScriptedTeams:
    """What AMI would say about each team: ``{team: available agents}``; others unknown."""

    def __init__(self, available: Mapping[str, int] | None = None) -> None:
        self.available = dict(available or {})

    async def availability(self, team: str) -> Availability | None:
        if team not in self.available:
            return None
        free = int(self.available[team])
        if free < 0:
            return Availability(False, 0, 0, 0, 0, 0.0)
        return Availability(True, max(free, 1), free, 0, 0, 0.0)


class SimulationServices(Services):
    """Real prompt service, real outbox and call records in a temporary folder; webhooks
    with ``save_as`` are really called (the flow needs their answer), messages are not."""

    def __init__(
        self,
        settings: Settings,
        *,
        prompts_dir: Path | None = None,
        teams: Mapping[str, int] | None = None,
        at: float | None = None,
        work_dir: Path | None = None,
    ) -> None:
        self._tmp = None if work_dir else tempfile.TemporaryDirectory(prefix="callbot-sim-")
        self.work_dir = work_dir or Path(self._tmp.name)  # type: ignore[union-attr]
        scratch = dataclasses.replace(
            settings,
            data_dir=self.work_dir,
            outbox=dataclasses.replace(settings.outbox, store="sqlite"),
        )
        prompt_settings = settings
        if prompts_dir is not None:
            prompt_settings = dataclasses.replace(settings, data_dir=prompts_dir)
        self.outbox_service = Outbox.from_settings(scratch, {})
        super().__init__(
            prompts=PromptService.from_settings(prompt_settings),
            outbox=self.outbox_service,
            optins=self.outbox_service.optins,
            teams=ScriptedTeams(teams),
            records=CallRecords(scratch.calls_db),
            clock=FixedClock(at) if at is not None else SystemClock(),
            webhooks=in_call_webhooks(settings),
        )

    async def open(self) -> None:
        await self.outbox_service.open()
        await self.records.open()  # type: ignore[attr-defined]

    async def aclose(self) -> None:
        await self.prompts.aclose()  # type: ignore[attr-defined]
        await self.records.aclose()  # type: ignore[attr-defined]
        await self.webhooks.aclose()  # type: ignore[attr-defined]
        await self.outbox_service.aclose()
        if self._tmp is not None:
            self._tmp.cleanup()


@dataclass
class Scenario:
    """The world around one simulated call."""

    caller: str = "+34600000000"
    caller_name: str = "Test Caller"
    dtmf: str = ""
    queues: Mapping[str, str] = field(default_factory=dict)
    dial: Mapping[str, str] = field(default_factory=dict)
    teams: Mapping[str, int] = field(default_factory=dict)
    optins: tuple[str, ...] = ()
    at: str | None = None
    hangup_at: int | None = None
    args: tuple[str, ...] = ()
    query: str = ""
    missing_sounds: frozenset[str] = frozenset()

    def timestamp(self) -> float | None:
        """``at`` as a Unix time: ISO 8601, with an offset (naive = UTC)."""
        if not self.at:
            return None
        moment = datetime.fromisoformat(self.at)
        if moment.tzinfo is None:
            from datetime import UTC

            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()


@dataclass
class Transcript:
    """One simulated call: the runner's result plus what Asterisk saw."""

    flow: str
    result: CallResult
    commands: list[str]
    variables: dict[str, str]
    messages: list[dict[str, Any]]
    hung_up_by: str | None
    unused_dtmf: list[str]

    @property
    def status(self) -> str:
        return self.result.status

    @property
    def said(self) -> list[str]:
        return [e["text"] for e in self.result.events if e["event"] == "say"]


async def simulate(
    flow: Flow,
    scenario: Scenario,
    settings: Settings,
    *,
    subflows: Mapping[str, Flow] | None = None,
    prompts_dir: Path | None = None,
) -> Transcript:
    """Run ``flow`` once under ``scenario`` through the in-memory Asterisk."""
    services = SimulationServices(
        settings, prompts_dir=prompts_dir, teams=scenario.teams, at=scenario.timestamp()
    )
    await services.open()
    try:
        for channel in scenario.optins:
            if scenario.caller:
                await services.optins.record(scenario.caller, channel, "simulation")
        script = flow.name + (f"?{scenario.query}" if scenario.query else "")
        clock = services.clock = CallClock(scenario.timestamp())
        asterisk = clock.asterisk = MemoryAsterisk(
            AsteriskSetup(
                script,
                args=scenario.args,
                callerid=scenario.caller,
                calleridname=scenario.caller_name,
                language=flow.language,
                caller=scenario.dtmf,
                queues=dict(scenario.queues),
                dial=scenario.dial,
                hangup_at_command=scenario.hangup_at,
                missing_sounds=set(scenario.missing_sounds),
            )
        )

        async def handler(channel: Any) -> CallResult:
            return await run_call(channel, flow, services, settings, subflows=subflows)

        try:
            result = await asterisk.run(handler)
        except SessionNotStarted as exc:  # e.g. a caller name whose line breaks overflow it
            record = {"messages": [], "transfers": [], "path": []}
            result = CallResult(FAILED, "session not started", record, error=str(exc))
        messages = []
        for entry in result.record["messages"]:
            stored = await services.outbox_service.get(entry["id"])
            messages.append(
                {
                    **entry,
                    "status": stored.status if stored else "missing",
                    "reason": stored.reason if stored else "",
                }
            )
        return Transcript(
            flow=flow.name,
            result=result,
            commands=list(asterisk.commands),
            variables=dict(asterisk.variables),
            messages=messages,
            hung_up_by=asterisk.hangup_by,
            unused_dtmf=asterisk.caller.pending,
        )
    finally:
        await services.aclose()
