"""The router: flow names as Asterisk sends them, refused names, version pinning, records."""

from __future__ import annotations

import asyncio

import pytest

from agi_callbot.flow.loader import FlowLibrary
from agi_callbot.flow.runner import run_call
from agi_callbot.router import Router
from agi_callbot.sim.asterisk import MemoryAsterisk
from agi_callbot.sim.setup import AsteriskSetup

FLOW = """flow: {name}
language: en
voice: {{engine: espeak-ng, voice: en}}
blocks:
  hello: {{say: "{text}", next: sub}}
  sub: {{subflow: parts/bye}}
"""
BYE = """flow: parts/bye
language: en
blocks:
  bye: {hangup: {message: "Goodbye."}}
"""


@pytest.fixture
def folder(tmp_path, write_flow):
    flows = tmp_path / "flows"
    write_flow(flows, "main", FLOW.format(name="main", text="Version one."))
    write_flow(flows, "parts/bye", BYE)
    return flows


@pytest.fixture
def router(folder, settings, services):
    return Router(settings, services, FlowLibrary(folder, settings=settings))


def said(result):
    return [e["text"] for e in result.events if e["event"] == "say"]


async def test_a_call_runs_the_named_flow_and_its_subflow(router, services):
    ast = MemoryAsterisk(AsteriskSetup("main?language=en", callerid="+34600111222"))
    result = await ast.run(router)
    assert result.path == ["hello", "sub", "parts/bye:bye"]
    assert said(result) == ["Version one.", "Goodbye."]
    (record,) = await services.records.last(1)
    assert record["flow"] == "main" and record["version"] == result.record["version"]
    assert record["status"] == "COMPLETED"


async def test_loaded_flows_are_pinned_on_the_loop_and_new_ones_read_in_a_thread(
    router, monkeypatch
):
    hops: list[str] = []
    real = asyncio.to_thread

    async def counted(fn, *args):
        hops.append(args[0])
        return await real(fn, *args)

    monkeypatch.setattr("agi_callbot.router.asyncio.to_thread", counted)
    for _ in range(3):
        ast = MemoryAsterisk(AsteriskSetup("main?language=en", callerid="+34600111222"))
        assert (await ast.run(router)).status == "COMPLETED"
    assert hops == ["main"]  # the first call read main and parts/bye; the others reused them


@pytest.mark.parametrize(
    "script", ["../etc/passwd", "/abs", "a b", "x;y", "parts/../main", "nope", "", "main.yaml"]
)
async def test_bad_or_unknown_names_leave_failed(router, services, script, caplog):
    ast = MemoryAsterisk(AsteriskSetup(script))
    assert await ast.run(router) is None
    assert ast.variables["CALLBOT_STATUS"] == "FAILED"
    assert "ANSWER" not in ast.commands and not ast.hung_up
    assert await services.records.last(1) == []
    refusals = [r for r in caplog.records if "call refused" in r.getMessage()]
    assert len(refusals) == 1


async def test_an_invalid_flow_file_refuses_the_call(folder, router, write_flow):
    write_flow(folder, "broken", "flow: broken\nblocks:\n  a: {goto: nowhere}\n")
    ast = MemoryAsterisk(AsteriskSetup("broken"))
    assert await ast.run(router) is None
    assert ast.variables["CALLBOT_STATUS"] == "FAILED"


async def test_classic_agi_names_the_flow_itself(router):
    ast = MemoryAsterisk(AsteriskSetup(""))
    result = await ast.run(lambda channel: router(channel, flow="main"))
    assert result.status == "COMPLETED"


async def test_edits_reach_new_calls_only_and_a_broken_edit_keeps_the_old_version(
    folder, router, settings, services, write_flow
):
    first = await MemoryAsterisk(AsteriskSetup("main")).run(router)
    pinned, subflows = router.pin("main")
    write_flow(folder, "main", FLOW.format(name="main", text="Version two."))
    assert router.library.reload() == ["main"]
    second = await MemoryAsterisk(AsteriskSetup("main")).run(router)
    assert said(second)[0] == "Version two."
    assert second.record["version"] != first.record["version"]

    async def old_call(channel):
        return await run_call(channel, pinned, services, settings, subflows=subflows)

    assert said(await MemoryAsterisk(AsteriskSetup("main")).run(old_call))[0] == "Version one."

    write_flow(folder, "main", "flow: main\nblocks: [not, a, mapping]\n")
    assert router.library.reload() == []
    third = await MemoryAsterisk(AsteriskSetup("main")).run(router)
    assert said(third)[0] == "Version two."


async def test_calls_are_counted_by_flow_and_outcome(router):
    from agi_callbot import metrics

    def count(flow, outcome):
        return metrics.calls_total.labels(flow=flow, outcome=outcome)._value.get()

    before = count("main", "COMPLETED"), count("(refused)", "FAILED")
    await MemoryAsterisk(AsteriskSetup("main")).run(router)
    await MemoryAsterisk(AsteriskSetup("../x")).run(router)
    assert count("main", "COMPLETED") == before[0] + 1
    assert count("(refused)", "FAILED") == before[1] + 1
