"""Calls over the API on a whole node (the real ``App``): a call held in a queue over a
real FastAGI socket is in the live list (and its event stream) while it lasts and
leaves it when it ends; then it is in the records, with its detail and messages."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp

from agi_callbot.app import App
from agi_callbot.sim.asterisk import MemoryAsterisk
from agi_callbot.sim.setup import AsteriskSetup
from tests.app.test_ops_node import node  # noqa: F401 - a whole node, as the ops tests run it
from tests.console.held_call import held_call

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def caller(digits: str) -> MemoryAsterisk:
    return MemoryAsterisk(
        AsteriskSetup("soporte", callerid="+34600111222", calleridname="Ana", language="es",
                      caller=digits)
    )  # fmt: skip


async def next_event(response) -> tuple[str, dict]:
    event = data = ""
    while True:
        line = (await response.content.readline()).decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and event:
            return event, json.loads(data)


async def test_a_held_call_is_live_then_recorded(node: App) -> None:  # noqa: F811
    host, port = node.http.addresses[0][:2]
    base = f"http://{host}:{port}"
    headers = {"Authorization": f"Bearer {node.console.guard.token}"}
    ast = caller("wait:3,1")  # 1: sales, a transfer to team ventas
    release, holding = asyncio.Event(), asyncio.Event()
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(base + "/api/calls/stream") as stream:
            event, first = await next_event(stream)
            assert (event, first["calls"], first["kept"]) == ("snapshot", [], True)
            call = asyncio.create_task(
                held_call(ast, "127.0.0.1", node.server.port, release, holding=holding)
            )
            await asyncio.wait_for(holding.wait(), 10)
            event, added = await asyncio.wait_for(next_event(stream), 1)  # within 1 s
            assert event == "calls"
            (live,) = added["added"]
            assert live["uniqueid"] == ast.environment.uniqueid
            block = live["block"]
            while block != "sales":  # the block it is in now, within a second
                event, changed = await asyncio.wait_for(next_event(stream), 1.5)
                block = changed["blocks"].get(str(live["id"]), block)
            assert live["flow"] == "soporte"
            assert live["caller"] == "+34600***222"
            async with http.get(base + "/api/calls?live=1") as r:
                assert [c["id"] for c in (await r.json())["calls"]] == [live["id"]]
            release.set()
            await asyncio.wait_for(call, 10)
            event, gone = await asyncio.wait_for(next_event(stream), 2)
            assert gone["removed"] == [live["id"]] and gone["added"] == [] == list(gone["blocks"])
        async with http.get(base + "/api/calls?live=1") as r:
            assert (await r.json())["calls"] == []
        async with http.get(base + "/api/calls?flow=soporte&caller=600111") as r:
            (recent,) = (await r.json())["calls"]
        assert recent["uniqueid"] == ast.environment.uniqueid
        assert recent["caller"] == "+34600***222" and recent["status"] == "COMPLETED"
        async with http.get(base + "/api/calls?flow=soporte&caller=699") as r:
            assert (await r.json())["calls"] == []
        async with http.get(base + "/api/calls?date=yesterday") as r:
            assert r.status == 400
        async with http.get(base + f"/api/calls/{ast.environment.uniqueid}") as r:
            detail = await r.json()
        record = detail["record"]
        assert record["path"][:3] == ["welcome", "main_menu", "sales"]
        assert record["digits"] == [{"block": "main_menu", "digits": "1"}]
        assert record["transfers"][0]["target"].startswith("ventas")
        assert [m["channel"] for m in detail["messages"]] == ["whatsapp"]
        assert detail["messages"][0]["to"] == "+34600***222"
        async with http.get(base + "/api/calls/nope") as r:
            assert r.status == 404
