"""The AMI client and Teams against the fake AMI server (real sockets, Asterisk 22 framing)."""

from __future__ import annotations

import asyncio
import socket

import pytest
from fake_ami import FakeAmi, FakeCaller, FakeMember, FakeQueue

from agi_callbot import metrics
from agi_callbot.asterisk.ami import AmiActionError, AmiClient, AmiUnavailable
from agi_callbot.asterisk.teams import NoTeams, Teams
from agi_callbot.config import load_settings
from agi_callbot.errors import ConfigError
from agi_callbot.services import Availability


def lab_queues() -> dict[str, FakeQueue]:
    return {
        "ventas": FakeQueue([FakeMember("Agente 1001", "PJSIP/1001")]),
        "soporte": FakeQueue([FakeMember("Agente 1002", "PJSIP/1002", paused=True)]),
        "sales": FakeQueue(
            [FakeMember("A", "PJSIP/1001", status=2), FakeMember("B", "PJSIP/1002", status=5)],
            callers=[
                FakeCaller("PJSIP/t-1", "1.1", "600111222", "Ana", wait=7),
                FakeCaller("PJSIP/t-2", "1.2", "600333444", "Luis", wait=3),
            ],
        ),
        "support": FakeQueue(),
    }


async def until(condition, timeout: float = 5.0) -> None:
    """Wait (bounded) for a background effect; fails the test if it never happens."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.fixture
async def fake():
    server = FakeAmi(queues=lab_queues(), fail_delay=0.05)
    await server.start()
    yield server
    await server.stop()


def make_client(port: int, secret: str = "callbot", **kw) -> AmiClient:
    kw.setdefault("timeout", 0.5)
    kw.setdefault("backoff_min", 0.02)
    kw.setdefault("backoff_max", 0.2)
    return AmiClient("127.0.0.1", port, "callbot", secret, **kw)


@pytest.fixture
async def teams(fake):
    client = make_client(fake.port)
    service = Teams(client)
    await service.start()
    assert await client.wait_ready(5)
    yield service
    await service.aclose()


async def test_available_agent(teams):
    assert await teams.availability("ventas") == Availability(True, 1, 1, 0, 0, 0.0)


async def test_paused_agent_is_not_available(teams):
    assert await teams.availability("soporte") == Availability(True, 1, 0, 1, 0, 0.0)


async def test_busy_and_unavailable_agents_with_callers_waiting(teams):
    found = await teams.availability("sales")
    # the unavailable member is not logged in; the one in a call is, but not free
    assert found == Availability(True, 1, 0, 0, 2, 7.0)


async def test_queue_without_members_exists(teams):
    assert await teams.availability("support") == Availability(True, 0, 0, 0, 0, 0.0)


async def test_unknown_queue_is_reported_as_missing_not_as_nobody(teams):
    found = await teams.availability("no-such-team")
    assert found is not None and not found.exists


async def test_actions_are_sent_with_events_off_and_logged_off_on_close(fake):
    client = make_client(fake.port)
    await client.start()
    assert await client.wait_ready(5)
    await client.aclose()
    assert fake.actions[0] == "Login"
    assert fake.actions[-1] == "Logoff"
    assert not client.logged_in


async def test_rejected_login_waits_the_longest_backoff(fake):
    client = make_client(fake.port, secret="wrong", backoff_max=30.0)
    teams = Teams(client)
    await teams.start()
    try:
        await until(lambda: client.stats.logins_failed == 1)
        assert "refused" in client.last_error and "Authentication failed" in client.last_error
        assert await teams.availability("ventas") is None
        await asyncio.sleep(0.3)  # several minimum backoffs: no second attempt
        assert fake.logins == ["failed"]
    finally:
        await teams.aclose()


async def test_secret_is_not_in_repr_or_snapshot(fake):
    client = make_client(fake.port, secret="s3cr3t-value")
    assert "s3cr3t" not in repr(client)
    assert "s3cr3t" not in repr(Teams(client).snapshot())


async def test_unanswered_action_times_out_and_the_session_stays_usable(fake, teams):
    fake.silent.add("queuestatus")
    assert await teams.availability("ventas") is None
    assert teams.client.stats.timeouts == 1
    protocol = teams.client._manager.protocol
    assert not protocol.responses, "a timed-out action must not stay in panoramisk's table"
    fake.silent.clear()
    assert (await teams.availability("ventas")).available == 1


async def test_connection_cut_mid_list_fails_at_once_then_reconnects(fake, teams):
    fake.cut_after = 1
    client = teams.client
    assert await teams.availability("sales") is None
    assert client.stats.timeouts == 0, "a dropped connection is not a timeout"
    fake.cut_after = None
    await until(lambda: client.stats.connects == 2 and client.logged_in)
    assert (await teams.availability("sales")).callers == 2


async def test_restart_reconnects_with_backoff(fake, teams):
    client = teams.client
    await fake.restart(down_for=0.1)
    await until(lambda: client.stats.connects >= 2 and client.logged_in)
    assert client.stats.disconnects >= 1
    assert fake.logins.count("ok") == 2
    assert (await teams.availability("ventas")).available == 1


async def test_asterisk_down_at_start_then_up(unused_tcp_port):
    client = make_client(unused_tcp_port)
    teams = Teams(client)
    await teams.start()  # returns at once: the callbot starts without Asterisk
    try:
        assert not client.logged_in
        assert await teams.availability("ventas") is None
        await until(lambda: client.last_error == "connection refused")
        server = FakeAmi(queues=lab_queues())
        await server.start(unused_tcp_port)
        try:
            assert await client.wait_ready(5)
            assert (await teams.availability("ventas")).available == 1
        finally:
            await server.stop()
    finally:
        await teams.aclose()


async def test_silent_peer_is_dropped_by_the_ping(fake):
    client = make_client(fake.port, ping_interval=0.05, timeout=0.1)
    await client.start()
    try:
        assert await client.wait_ready(5)
        fake.silent.add("ping")
        await until(lambda: client.stats.disconnects >= 1)
        fake.silent.clear()
        await until(lambda: client.logged_in)
        assert client.stats.connects >= 2
    finally:
        await client.aclose()


async def test_request_while_not_logged_in_fails_at_once():
    client = make_client(1)
    with pytest.raises(AmiUnavailable):
        await client.action("Ping")


async def test_command_needs_the_command_class(fake, teams):
    with pytest.raises(AmiActionError, match="Permission denied"):
        await teams.client.command("moh show classes")
    fake.allow_command = True
    fake.cli["moh show classes"] = ["Class: default", "\tMode: files", "Class: ventas"]
    lines = await teams.client.command("moh show classes")
    assert lines == ["Class: default", "\tMode: files", "Class: ventas"]


async def test_unknown_action_is_an_action_error(teams):
    with pytest.raises(AmiActionError, match="Invalid/unknown command"):
        await teams.client.action("NoSuchAction")


async def test_metrics_collector_sets_connection_and_queue_gauges(teams):
    await teams.availability("ventas")
    await metrics.refresh()
    assert metrics.REGISTRY.get_sample_value("callbot_ami_connected") == 1
    sample = metrics.REGISTRY.get_sample_value("callbot_queue_available", {"team": "ventas"})
    assert sample == 1
    snap = teams.snapshot()
    assert snap["logged_in"] and snap["teams"]["ventas"]["available"] == 1


def test_settings_choose_teams_or_no_teams(tmp_path, monkeypatch):
    monkeypatch.delenv("CALLBOT_AMI_TEST_SECRET", raising=False)
    assert isinstance(Teams.from_settings(load_settings(environ={})), NoTeams)
    env = {"CALLBOT_AMI__ENABLED": "true", "CALLBOT_AMI__SECRET_ENV": "CALLBOT_AMI_TEST_SECRET"}
    with pytest.raises(ConfigError, match="CALLBOT_AMI_TEST_SECRET"):
        Teams.from_settings(load_settings(environ=env))
    monkeypatch.setenv("CALLBOT_AMI_TEST_SECRET", "x")
    built = Teams.from_settings(load_settings(environ=env))
    assert isinstance(built, Teams) and built.client.port == 5038


async def test_no_teams_answers_none():
    assert await NoTeams().availability("ventas") is None


@pytest.fixture
def unused_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_a_fresh_process_waits_for_its_first_login(fake):
    """Classic AGI starts one process per call: its first question must not be lost."""
    teams = Teams(make_client(fake.port))
    await teams.start()
    try:
        assert teams.client.starting
        assert (await teams.availability("ventas")).available == 1
        assert not teams.client.starting
    finally:
        await teams.aclose()


async def test_after_a_failure_requests_do_not_wait(unused_tcp_port):
    client = make_client(unused_tcp_port, backoff_max=30.0)
    teams = Teams(client)
    await teams.start()
    try:
        await until(lambda: client.last_error == "connection refused")
        assert not client.starting
        assert await teams.availability("ventas") is None
        assert client.stats.timeouts == 0, "answered 'unknown' at once, not after the deadline"
    finally:
        await teams.aclose()


async def test_login_never_answered_is_retried(fake):
    fake.silent.add("login")
    client = make_client(fake.port, timeout=0.1)
    await client.start()
    try:
        await until(lambda: client.stats.connects >= 2)
        assert "no answer" in client.last_error and not client.logged_in
        fake.silent.clear()
        assert await client.wait_ready(5)
    finally:
        await client.aclose()


async def test_unsolicited_events_inside_a_list_are_not_mistaken_for_it(fake, teams):
    fake.interleave = True
    events = await teams.client.list_action("QueueStatus", Queue="sales")
    assert [e.event for e in events] == [
        "QueueParams",
        "QueueMember",
        "QueueMember",
        "QueueEntry",
        "QueueEntry",
    ]
    assert await teams.availability("sales") == Availability(True, 1, 0, 0, 2, 7.0)


async def test_silent_eof_without_shutdown_event_reconnects(fake, teams):
    client = teams.client
    await fake.restart(down_for=0.05, announce=False)
    await until(lambda: client.stats.connects >= 2 and client.logged_in)
    assert (await teams.availability("ventas")).available == 1
