"""The caller hangs up at every command of every example flow, in several scenarios.

Each time: no unhandled exception, ``CALLBOT_STATUS`` set to the final status (never
left at FAILED), the flow's ``on_hangup`` WhatsApp queued in the outbox, the call
record written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agi_callbot.flow.loader import FlowLibrary
from agi_callbot.router import pin
from agi_callbot.sim.cases import case_flow, find_case_files, load_cases
from agi_callbot.sim.simulate import FixedClock, ScriptedTeams

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


OPEN = 1795600800.0  # Wednesday 2026-11-25 10:00 Madrid

SCENARIOS = {
    "soporte": [
        {"caller": "wait:3,2,wait:3,1"},
        {"caller": "wait:3,1", "queues": {"ventas": "answer"}},
        {"caller": "wait:3,3", "queues": {"soporte": "timeout"}, "dial": {"PJSIP/1001": "BUSY"}},
        {"caller": "", "dial": {"PJSIP/1001": "ANSWER"}},
    ],
    "support": [
        {"caller": "wait:3,2,wait:3,2"},
        {"caller": "wait:3,1", "queues": {"sales": "continue"}},
    ],
    "demo": [
        {"caller": "wait:6,1,1,2,3,4,#", "queues": {"sales": "answer"}},
        {"caller": "wait:6,1,5,5,5,5,#,1"},
        {"caller": "wait:6,9,2,wait:3,8"},
        {"caller": "wait:6,3", "dial": {"PJSIP/1001": "BUSY"}, "teams": {"sales": 0}},
    ],
}
RUNS = [(flow, n) for flow, scenarios in SCENARIOS.items() for n in range(len(scenarios))]


@pytest.mark.parametrize(("name", "index"), RUNS, ids=[f"{f}-{n}" for f, n in RUNS])
async def test_hangup_at_every_command(name, index, settings, services, place_call):
    flow, subflows = pin(FlowLibrary(EXAMPLES / "flows", settings=settings), name)
    scenario = dict(SCENARIOS[name][index])
    services.teams = ScriptedTeams(scenario.pop("teams", {}))
    services.clock = FixedClock(OPEN)
    full, _ = await place_call(services, settings, flow, subflows, **scenario)
    total = len(full.commands)
    assert total > 5
    for at in range(1, total + 1):
        ast, result = await place_call(
            services, settings, flow, subflows, hangup_at_command=at, **scenario
        )
        where = f"{name} scenario {index}, hangup at command {at} ({ast.commands[at - 1]!r})"
        assert not result.error, where
        assert ast.variables.get("CALLBOT_STATUS") == result.status, where
        assert result.status in ("HANGUP", "TRANSFERRED", "COMPLETED"), where
        if result.status == "HANGUP":
            assert ast.hangup_by == "caller", where
        on_hangup = [m for m in result.record["messages"] if m["block"] == "on_hangup"]
        assert len(on_hangup) == 1 and on_hangup[0]["channel"] == "whatsapp", where
        stored = await services.outbox_service.get(on_hangup[0]["id"])
        assert stored is not None and stored.key.endswith("/on_hangup/0"), where
        (record,) = [
            r for r in await services.records.last(5) if r["uniqueid"] == result.record["uniqueid"]
        ]
        assert record["status"] == result.status, where


CASES = [case for file in find_case_files([EXAMPLES / "flows"]) for case in load_cases(file)]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.file.name}: {c.name}")
async def test_hangup_at_every_command_of_every_example_case(case, settings, services, place_call):
    flow, subflows = pin(*case_flow(case, settings))
    s = case.scenario
    services.teams = ScriptedTeams(s.teams)
    services.clock = FixedClock(s.timestamp() or OPEN)
    for channel in s.optins:
        await services.optins.record(s.caller, channel, "test")
    world = {
        "script": flow.name + (f"?{s.query}" if s.query else ""),
        "caller": s.dtmf,
        "callerid": s.caller,
        "calleridname": s.caller_name,
        "queues": s.queues,
        "dial": s.dial,
        "args": s.args,
        "missing_sounds": set(s.missing_sounds),
    }
    full, _ = await place_call(services, settings, flow, subflows, **world)
    for at in range(1, len(full.commands) + 1):
        ast, result = await place_call(
            services, settings, flow, subflows, hangup_at_command=at, **world
        )
        where = f"hangup at command {at} ({ast.commands[at - 1]!r})"
        assert not result.error, where
        assert ast.variables.get("CALLBOT_STATUS") == result.status != "FAILED", where
        expected = 1 if flow.on_hangup else 0
        assert [m["block"] for m in result.record["messages"]].count("on_hangup") == expected, where
