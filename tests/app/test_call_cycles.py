"""A finished call leaves nothing for the garbage collector.

With thousands of calls open, every collection scans the live objects of every call:
the pauses are the p99 tail (``benchmarks/peers.py --modes paced --levels 2000``). When
a call's objects all go by reference counting the collector's count never grows in
steady state and no collection runs at all. These tests run real calls of every example
flow (menus, transfers, messages, a caller hanging up mid-prompt and mid-menu) through
the whole node over real sockets and look at what the collector finds afterwards.

The Asterisk side is driven from a thread with a blocking socket, so that none of the
client's own objects (an asyncio transport is itself a cycle) are counted.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import gc
import socket
from pathlib import Path

import pytest

from agi_callbot.app import App
from agi_callbot.config import load_settings
from agi_callbot.sim.asterisk import MemoryAsterisk
from agi_callbot.sim.setup import AsteriskSetup

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

#: (flow, caller script): the example flows' main paths and hangups at awkward moments
CALLS = [
    ("demo", ""),
    ("soporte", "wait:3,2,wait:3,1"),  # SMS + e-mail, WhatsApp opt-in, goodbye
    ("soporte", "wait:2,1"),  # transfer to a team's queue, answered
    ("soporte", "wait:2,0"),  # an agent's phone, busy
    ("soporte", "wait:1,3"),
    ("soporte", "wait:1,9,wait:9,wait:9"),  # invalid digit, no input: retries exhausted
    ("support", "wait:2,1"),
    ("soporte", "hangup"),  # during the welcome prompt
    ("soporte", "wait:3,hangup"),  # in the menu
    ("demo", "wait:1,hangup"),
]


def play(asterisk: MemoryAsterisk, port: int) -> None:
    """Asterisk's side of one call over a blocking socket (no asyncio objects)."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(asterisk.env_block())
        while data := sock.recv(65536):
            asterisk.receive(data)
            if out := asterisk.take_output():
                sock.sendall(out)
            if asterisk.eof:
                return


@pytest.fixture
async def node(tmp_path: Path):
    base = load_settings(EXAMPLES / "callbot.yaml", environ={})
    settings = dataclasses.replace(
        base,
        data_dir=tmp_path / "var",
        listen=dataclasses.replace(base.listen, port=0),
        http=dataclasses.replace(base.http, enabled=False),
        flows=dataclasses.replace(base.flows, reload=False),
    )
    app = App(settings, workers=False)
    await app.start()
    try:
        yield app
    finally:
        await app.aclose()


async def run_calls(app: App, rounds: int) -> list[str]:
    assert app.server is not None
    statuses = []
    for _ in range(rounds):
        for flow, script in CALLS:
            asterisk = MemoryAsterisk(
                AsteriskSetup(
                    flow,
                    callerid="+34600111222",
                    calleridname="Ana",
                    caller=script,
                    queues=dict.fromkeys(("ventas", "soporte", "sales", "support"), "answer"),
                    dial={"PJSIP/1001": "BUSY"},
                )
            )
            await asyncio.to_thread(play, asterisk, app.server.port)
            statuses.append(asterisk.variables.get("CALLBOT_STATUS", "(hung up)"))
    await asyncio.sleep(0.05)  # connection_lost and the calls' ends run
    return statuses


@dataclasses.dataclass
class Garbage:
    count: int
    types: collections.Counter[str]


def collect() -> Garbage:
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        count = gc.collect()
        types = collections.Counter(
            f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage
        )
    finally:
        gc.set_debug(0)
        gc.garbage.clear()  # the saved cycles are cycles still: free them for real
        gc.collect()
    return Garbage(count, types)


async def test_a_finished_call_leaves_no_reference_cycle(node: App) -> None:
    await run_calls(node, 1)  # first calls fill caches (prompts, compiled templates)
    collect()
    statuses = await run_calls(node, 3)
    assert {"COMPLETED", "TRANSFERRED"} <= set(statuses), statuses
    found = collect()
    assert found.count == 0, f"reference cycles left by {len(statuses)} calls: {found.types}"


async def test_the_check_sees_a_cycle_a_call_would_leave(node: App) -> None:
    """The test above can fail: a call that keeps a cycle (here: a frame and the
    exception it caught, the classic one) is found and named."""
    collect()

    class Remembered(Exception):
        pass

    def bad_habit() -> None:
        try:
            raise Remembered
        except Remembered as exc:
            kept = exc  # the traceback holds this frame, which holds kept: a cycle
            assert kept.__traceback__ is not None

    for _ in range(3):
        bad_habit()
    found = collect()
    assert found.count > 0
    assert any("Remembered" in name for name in found.types), found.types
