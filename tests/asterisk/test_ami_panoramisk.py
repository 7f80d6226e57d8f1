"""What panoramisk 1.4 does on its own, against the fake AMI server: why ami.py wraps it.

Each test pins one behaviour the module docstring of ``agi_callbot.asterisk.ami`` works around;
if a panoramisk release changes it, the test says so and the workaround can go.
"""

from __future__ import annotations

import asyncio

import pytest
from fake_ami import FakeAmi, FakeMember, FakeQueue
from panoramisk import Manager


@pytest.fixture
async def fake():
    server = FakeAmi(queues={"ventas": FakeQueue([FakeMember("A", "PJSIP/1001")])})
    await server.start()
    yield server
    await server.stop()


async def logged_in(port: int) -> Manager:
    manager = Manager(
        host="127.0.0.1",
        port=port,
        username="callbot",
        secret="callbot",
        events="off",
        ping_delay=3600,
        reconnect_timeout=3600,
    )
    await manager.connect()
    async with asyncio.timeout(5):
        while not manager.authenticated:
            await asyncio.sleep(0.01)
    return manager


async def test_list_framing_matches_asterisk(fake):
    manager = await logged_in(fake.port)
    try:
        responses = await asyncio.wait_for(
            manager.send_action({"Action": "QueueStatus", "Queue": "ventas"}), 5
        )
        assert [r.event or r.response for r in responses] == [
            "Success",
            "QueueParams",
            "QueueMember",
            "QueueStatusComplete",
        ]
    finally:
        manager.close()


async def test_an_unanswered_action_waits_forever_and_stays_in_the_table(fake):
    manager = await logged_in(fake.port)
    fake.silent.add("queuestatus")
    try:
        future = manager.send_action({"Action": "QueueStatus", "Queue": "ventas"})
        done, _ = await asyncio.wait([future], timeout=0.3)
        assert not done, "panoramisk has no deadline of its own"
        assert len(manager.protocol.responses) == 1
    finally:
        manager.close()


async def test_a_list_cut_by_a_lost_connection_is_never_resolved(fake):
    manager = await logged_in(fake.port)
    fake.cut_after = 1
    try:
        future = manager.send_action({"Action": "QueueStatus", "Queue": "ventas"})
        done, _ = await asyncio.wait([future], timeout=0.3)
        assert not done and not manager.awaiting_actions
    finally:
        manager.close()


def test_reconnect_delay_is_whole_seconds():
    assert Manager(reconnect_timeout=0.25).reconnect_timeout == 0
