"""A whole example call over a real TCP socket: FastAGI server → Router → runner.

The Asterisk side is the in-memory Asterisk bridged onto a loopback connection, so
the bytes cross a real socket both ways and the server's transport, the Channel and
the flow engine run exactly as in production.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from agi_callbot.flow.loader import FlowLibrary
from agi_callbot.router import Router
from agi_callbot.sim.asterisk import MemoryAsterisk
from agi_callbot.sim.setup import AsteriskSetup
from agi_callbot.transport.fastagi import FastAGIServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


async def test_soporte_call_over_a_socket(settings, services):
    settings = dataclasses.replace(settings, listen=dataclasses.replace(settings.listen, port=0))
    router = Router(settings, services, FlowLibrary(EXAMPLES / "flows", settings=settings))
    server = FastAGIServer(router, settings.listen)
    await server.start()
    try:
        calls = [
            MemoryAsterisk(
                AsteriskSetup("soporte", callerid="+34600111222", caller="wait:3,2,wait:3,1")
            ),
            MemoryAsterisk(
                AsteriskSetup(
                    "soporte",
                    callerid="+34600111333",
                    caller="wait:3,1",
                    queues={"ventas": "answer"},
                )
            ),
            MemoryAsterisk(AsteriskSetup("../soporte")),
        ]
        await asyncio.gather(*(ast.call("127.0.0.1", server.port, timeout=10) for ast in calls))
    finally:
        await server.shutdown(1.0)
    assert [ast.variables.get("CALLBOT_STATUS") for ast in calls] == [
        "COMPLETED",
        "TRANSFERRED",
        "FAILED",
    ]
    assert 'EXEC Queue "ventas,m(ventas),,,120"' in calls[1].commands
    records = {r["caller"]: r for r in await services.records.last(10)}
    assert records["+34600111222"]["path"][-1] == "goodbye"
    assert records["+34600111333"]["status"] == "TRANSFERRED"
    assert len(records) == 2
