"""Transfer waits on a whole node: a caller held in a team's queue over a real FastAGI
socket has the wait measured by the engine in its call record, shown in the call's
detail, in ``agi-callbot calls`` and, as median and p90 per team, on the dashboard."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import aiohttp
import pytest

from agi_callbot.app import App
from agi_callbot.cli.calls import format_record
from agi_callbot.console.charts import pairs
from agi_callbot.console.dashboard import percentile, wait_figures
from agi_callbot.sim.asterisk import MemoryAsterisk
from agi_callbot.sim.setup import AsteriskSetup
from tests.app.test_ops_node import node  # noqa: F401 - a whole node
from tests.asterisk.fake_ami_events import Leg, agent_event
from tests.console.held_call import held_call
from tests.console.node import LoopbackPeers, node_settings

HELD_S = 1.2


def caller() -> MemoryAsterisk:
    """Presses 1 (team ventas); the queue times out when the test lets it answer."""
    return MemoryAsterisk(
        AsteriskSetup("soporte", callerid="+34600111222", calleridname="Ana", language="es",
                      caller="wait:3,1", queues={"ventas": "timeout"})
    )  # fmt: skip


async def test_a_held_caller_has_its_wait_recorded_and_shown(node: App) -> None:  # noqa: F811
    host, port = node.http.addresses[0][:2]
    base = f"http://{host}:{port}"
    headers = {"Authorization": f"Bearer {node.console.guard.token}", "Accept-Language": "en"}
    ast, release, holding = caller(), asyncio.Event(), asyncio.Event()
    call = asyncio.create_task(
        held_call(ast, "127.0.0.1", node.server.port, release, holding=holding)
    )
    await asyncio.wait_for(holding.wait(), 10)
    held_at = time.monotonic()
    await asyncio.sleep(HELD_S)
    release.set()
    await asyncio.wait_for(call, 10)
    held = time.monotonic() - held_at
    uniqueid = ast.environment.uniqueid
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(f"{base}/api/calls/{uniqueid}") as r:
            record = (await r.json())["record"]
        (transfer,) = record["transfers"]
        assert transfer["target"] == "ventas" and transfer["outcome"] == "TIMEOUT"
        # the queue's reply came when the test let it: the wait is the time held (the
        # in-memory queue adds none of its own on a real socket; nobody talked)
        assert HELD_S - 0.05 <= transfer["wait_s"] <= held + 0.5
        assert transfer["wait_from"] == "measured"
    jar = aiohttp.CookieJar(unsafe=True)  # the session cookie of a numeric host
    async with aiohttp.ClientSession(headers={"Accept-Language": "en"}, cookie_jar=jar) as browser:
        token = node.console.guard.token
        async with browser.get(f"{base}/login?token={token}") as r:
            assert r.status == 200
        async with browser.get(f"{base}/calls/{uniqueid}") as r:
            page = await r.text()
    assert f"waited {transfer['wait_s']:.1f} s" in page and "measured by the callbot" in page
    # how the transfer ended, in the page's words with Asterisk's beside it; the message's
    # state in words too (the WhatsApp survey: no opt-in, skipped)
    assert "nobody answered <small" in page and "<code>TIMEOUT</code>" in page
    assert '<span class="badge status-skipped">skipped</span>' in page
    assert ">Target</th>" in page and ">Wait</th>" in page
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.get(f"{base}/api/dashboard") as r,
    ):
        d = await r.json()
    waits = d["transfer_waits"]["ventas"]
    assert waits["transfers"] == 1
    assert waits["median_s"] == waits["p90_s"] == round(transfer["wait_s"], 1)
    assert "ventas" in d["charts"]["transfer_waits"]
    assert ">nobody answered</text>" in d["charts"]["transfers"]
    assert f"ventas=TIMEOUT (waited {transfer['wait_s']:.1f}s)" in format_record(record)


def test_median_and_p90_per_team() -> None:
    assert percentile([5.0], 0.9) == 5.0
    values = [float(n) for n in range(1, 11)]  # 1..10 s
    assert (percentile(values, 0.5), percentile(values, 0.9)) == (5.0, 9.0)
    figures = wait_figures({"ventas": [12.0, 3.0, 7.5], "soporte": [], "b": [1.0]})
    assert figures == {
        "b": {"transfers": 1, "median_s": 1.0, "p90_s": 1.0},
        "ventas": {"transfers": 3, "median_s": 7.5, "p90_s": 12.0},
    }


def test_the_waits_chart_draws_both_figures_and_escapes() -> None:
    svg = pairs([("<v>", 4.0, 30.0)], title="w & x", names=("median", "p90"), unit=" s")
    assert svg.count("<rect") == 4  # two legend keys, two bars
    assert "&lt;v&gt;" in svg and "w &amp; x" in svg and ">30 s<" in svg
    assert pairs([], title="none", names=("a", "b")).startswith("<svg")


@pytest.mark.parametrize(
    ("transfer", "shown"),
    [
        ({"target": "PJSIP/1001", "outcome": "BUSY"}, "PJSIP/1001=BUSY"),
        ({"target": "v", "outcome": "ANSWER", "wait_s": 3}, "v=ANSWER (waited 3.0s)"),
    ],
)
def test_calls_line_shows_a_wait_only_where_there_is_one(transfer, shown) -> None:
    line = format_record({"started": 0, "transfers": [transfer]})
    assert line.endswith("transfers: " + shown)


async def test_with_ami_an_answered_caller_s_wait_is_asterisk_s_hold_time(tmp_path) -> None:
    """A whole node with AMI on (the fake AMI server): the call's queue is answered, and
    Asterisk's AgentConnect for that channel said HoldTime 7: the record says 7 s, from
    Asterisk, not the engine's measure (the in-memory queue answered at once)."""
    with LoopbackPeers() as peers:
        base = node_settings(tmp_path, peers)
        settings = dataclasses.replace(
            base,
            listen=dataclasses.replace(base.listen, port=0),
            http=dataclasses.replace(base.http, port=0),
        )
        node = App(settings)
        await node.start()
        try:
            teams = node.teams
            async with asyncio.timeout(5):
                while teams.state.seeded_at is None:
                    await asyncio.sleep(0.01)
            ast = MemoryAsterisk(
                AsteriskSetup("soporte", callerid="+34600111222", language="es",
                              caller="wait:3,1", queues={"ventas": "answer"})
            )  # fmt: skip
            release, holding = asyncio.Event(), asyncio.Event()
            call = asyncio.create_task(
                held_call(ast, "127.0.0.1", node.server.port, release, holding=holding)
            )
            await asyncio.wait_for(holding.wait(), 10)
            uniqueid = ast.environment.uniqueid
            caller = Leg(ast.environment.channel, uniqueid, uniqueid)
            agent = Leg("PJSIP/1001-00000001", "1795515999.9", uniqueid, context="agents")
            lucia = peers.ami.queues["ventas"].members[0]
            connect = agent_event(
                "AgentConnect", "ventas", caller, agent, lucia, ("HoldTime", "7"), ("RingTime", "2")
            )
            peers.loop.call_soon_threadsafe(peers.ami.emit, connect)
            async with asyncio.timeout(5):
                while teams.hold_time(uniqueid) is None:
                    await asyncio.sleep(0.01)
            release.set()
            await asyncio.wait_for(call, 10)
            (record,) = await node.services.records.last(1)
        finally:
            await node.aclose()
    (transfer,) = record["transfers"]
    assert transfer["outcome"] == "ANSWER"
    assert (transfer["wait_s"], transfer["wait_from"]) == (7.0, "asterisk")
