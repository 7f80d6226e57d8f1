"""The live queue model: transcript 03's recorded events move it as they should, and over
a real AMI session (the fake server, Asterisk 22's wire) a pause shows without a
``QueueStatus``, a restart or a reload reseeds it, and events for queues it does not
know break nothing."""

from __future__ import annotations

import asyncio

import pytest
from fake_ami import FakeAmi, FakeCaller, FakeMember, FakeQueue
from fake_ami_events import Leg, caller_event, member_event, recorded_events, reload_event
from panoramisk.message import Message

from agi_callbot.asterisk.ami import AmiClient
from agi_callbot.asterisk.queue_state import QueueState
from agi_callbot.asterisk.teams import EVENTS, Teams

FLAKY = "Local/flaky@ami-agents/n"


def as_message(lines: list[str]) -> Message:
    return Message.from_line("\r\n".join(lines))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_transcript_03_moves_the_model_step_by_step():
    """One call through ami-flow: join, the member rings (no answer), rings again, answers,
    talks, hangs up. Recorded events only; the model starts from a QueueStatus seed."""
    clock = Clock()
    state = QueueState(clock)
    state.seed(
        [
            Message({"Event": "QueueParams", "Queue": "ami-flow", "Strategy": "ringall"}),
            Message(
                {
                    "Event": "QueueMember",
                    "Queue": "ami-flow",
                    "Name": "FlakyAgent",
                    "Location": FLAKY,
                    "Status": "1",
                    "Paused": "0",
                    "InCall": "0",
                }
            ),
        ]
    )

    def member() -> dict:
        return state.board()["ami-flow"]["members"][0]

    seen = []
    for lines in recorded_events("03-queue-call-events"):
        message = as_message(lines)
        state.apply(message)
        clock.now += 0.5
        board = state.board()["ami-flow"]
        seen.append((message.event, member()["state"], board["callers"]))
    steps = [s for s in seen if s[0] in {
        "QueueCallerJoin", "AgentCalled", "QueueMemberStatus", "AgentRingNoAnswer",
        "QueueCallerLeave", "AgentConnect", "AgentComplete",
    }]  # fmt: skip
    assert steps == [
        ("QueueCallerJoin", "available", 1),
        ("AgentCalled", "ringing", 1),  # a Local member: Status stays 2, the event says it
        ("QueueMemberStatus", "ringing", 1),  # Status 2
        ("AgentRingNoAnswer", "busy", 1),  # Status 2 until app_queue says otherwise
        ("QueueMemberStatus", "available", 1),  # Status 1: the member's channel hung up
        ("AgentCalled", "ringing", 1),  # the retry
        ("QueueMemberStatus", "ringing", 1),
        ("QueueCallerLeave", "ringing", 0),
        ("AgentConnect", "busy", 0),  # in the call (no event says InCall: 1)
        ("AgentComplete", "busy", 0),  # Status still 2 until the member's QueueMemberStatus
        ("QueueMemberStatus", "available", 0),  # Status 1, CallsTaken 1
    ]
    assert state.board()["ami-flow"]["members"][0]["calls_taken"] == 1
    assert state.hold_time("1795574828.13") == 5  # the caller's Uniqueid: HoldTime 5 s
    assert state.board()["ami-flow"]["completed"] == 1
    assert state.unknown == 0


def test_longest_wait_counts_from_each_caller_join_and_a_seed_keeps_the_wait():
    clock = Clock()
    state = QueueState(clock)
    state.seed(
        [
            Message({"Event": "QueueParams", "Queue": "q"}),
            Message({"Event": "QueueEntry", "Queue": "q", "Uniqueid": "a", "Wait": "40"}),
        ]
    )
    clock.now += 2
    caller = Leg("Local/x;2", "b", "b")
    state.apply(
        as_message([f"{k}: {v}" for k, v in caller_event("QueueCallerJoin", "q", caller, 2, 2)])
    )
    assert state.board()["q"]["callers"] == 2 and state.board()["q"]["longest_wait_s"] == 42
    abandon = Message({"Event": "QueueCallerAbandon", "Queue": "q", "Uniqueid": "a"})
    assert state.apply(abandon)
    clock.now += 5
    assert state.board()["q"]["longest_wait_s"] == 5 and state.board()["q"]["abandoned"] == 1


def test_events_for_unknown_queues_or_odd_events_break_nothing():
    state = QueueState()
    state.apply(Message({"Event": "QueueMemberStatus", "Queue": "q"}))  # before any seed
    assert state.queues == {} and not state.stale.is_set()
    state.seed([Message({"Event": "QueueParams", "Queue": "q"})])
    for event in (
        Message({"Event": "QueueMemberPause", "Queue": "new-queue", "Interface": "X"}),
        Message({"Event": "AgentConnect", "Queue": "other", "Uniqueid": "u", "HoldTime": "x"}),
        Message({"Event": "QueueMemberStatus"}),  # no queue at all
        Message({"Event": "VarSet", "Queue": "q"}),  # not a queue event
        Message({"Event": "AgentComplete", "Queue": "q", "Interface": "nobody"}),
    ):
        state.apply(event)
    assert state.unknown == 3 and state.stale.is_set()  # a new seed is wanted
    assert state.board() == {
        "q": {"strategy": "", "members": [], "callers": 0, "longest_wait_s": 0,
              "available": 0, "completed": 1, "abandoned": 0}
    }  # fmt: skip
    assert state.hold_time("u") == 0  # kept (whatever queue), an unreadable figure as 0


# ---------------------------------------------------------------- over a real session


@pytest.fixture
async def fake():
    queues = {
        "ventas": FakeQueue(
            members=[FakeMember("Lucia", "PJSIP/1001"), FakeMember("Marcos", "PJSIP/1002")],
            callers=[FakeCaller("PJSIP/t-1", "1700.1", "+34600111222", "Ana", wait=12)],
        )
    }
    server = FakeAmi(queues=queues)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def teams(fake):
    client = AmiClient(
        "127.0.0.1", fake.port, "callbot", "callbot", timeout=1.0, backoff_min=0.05,
        events=EVENTS,
    )  # fmt: skip
    found = Teams(client, resync=3600)
    await found.start()
    await wait_for(lambda: found.state.seeded_at is not None)
    yield found
    await found.aclose()


async def wait_for(check, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


def states(teams: Teams) -> dict[str, str]:
    return {m["name"]: m["state"] for m in teams.state.board()["ventas"]["members"]}


async def test_a_pause_shows_from_its_event_without_asking_asterisk(fake, teams):
    assert states(teams) == {"Lucia": "available", "Marcos": "available"}
    asked = fake.actions.count("QueueStatus")
    teams.state.changed.clear()
    other = AmiClient("127.0.0.1", fake.port, "callbot", "callbot", timeout=1.0)  # Events: off
    await other.start()
    assert await other.wait_ready(5)
    await other.action("QueuePause", Queue="ventas", Interface="PJSIP/1001", Paused="true",
                       Reason="lunch")  # fmt: skip
    await asyncio.wait_for(teams.state.changed.wait(), 1)
    await other.aclose()
    assert states(teams)["Lucia"] == "paused"
    assert teams.state.board()["ventas"]["members"][0]["paused_reason"] == "lunch"
    assert teams.state.board()["ventas"]["available"] == 1
    fake.member_status("ventas", "PJSIP/1002", 6)  # Marcos' phone rings
    await wait_for(lambda: states(teams)["Marcos"] == "ringing", 1)
    assert fake.actions.count("QueueStatus") == asked  # events only: no poll
    assert "QueueSummary" not in fake.actions


async def test_a_restart_clears_then_reseeds_with_what_changed_meanwhile(fake, teams):
    seeds = teams.state.seeds
    restart = asyncio.create_task(fake.restart(down_for=0.2))
    await wait_for(lambda: teams.state.seeded_at is None, 2)  # the session ended: not known
    fake.queues["ventas"].members.append(FakeMember("Nuevo", "PJSIP/1009"))  # while down
    await restart
    await wait_for(lambda: teams.state.seeded_at is not None, 5)
    assert teams.state.seeds > seeds
    assert "Nuevo" in states(teams)
    assert teams.state.board()["ventas"]["callers"] == 1


async def test_reload_and_an_unknown_queue_each_ask_for_a_new_seed(fake, teams):
    asked = fake.actions.count("QueueStatus")
    fake.emit(reload_event())
    await wait_for(lambda: fake.actions.count("QueueStatus") == asked + 1, 2)
    fake.queues["soporte"] = FakeQueue(members=[FakeMember("Eva", "PJSIP/1020")])
    fake.emit(member_event("QueueMemberStatus", "soporte", fake.queues["soporte"].members[0]))
    await wait_for(lambda: "soporte" in teams.state.board(), 2)
    assert teams.state.unknown == 1
    assert teams.snapshot()["live"]["unknown_queue_events"] == 1


async def test_the_slow_resync_reads_the_queues_again(fake):
    client = AmiClient("127.0.0.1", fake.port, "callbot", "callbot", timeout=1.0, events=EVENTS)
    teams = Teams(client, resync=0.2)
    await teams.start()
    try:
        await wait_for(lambda: teams.state.seeds >= 3, 3)  # login (+ FullyBooted) + resync
    finally:
        await teams.aclose()


async def test_a_session_without_events_keeps_no_model(fake):
    client = AmiClient("127.0.0.1", fake.port, "callbot", "callbot", timeout=1.0)
    teams = Teams(client)
    await teams.start()
    try:
        assert await client.wait_ready(5)
        await asyncio.sleep(0.1)
        assert not teams.live and teams.state.seeded_at is None and teams.hold_time("x") is None
        assert "QueueStatus" not in fake.actions
    finally:
        await teams.aclose()


async def test_a_seed_asterisk_does_not_answer_is_tried_again(fake, monkeypatch):
    from agi_callbot.asterisk import teams as teams_module

    monkeypatch.setattr(teams_module, "SEED_TIMEOUT_S", 0.2)
    fake.silent.add("queuestatus")  # a hung app_queue: QueueStatus never answered
    client = AmiClient("127.0.0.1", fake.port, "callbot", "callbot", timeout=0.2, events=EVENTS)
    teams = Teams(client, resync=3600)
    await teams.start()
    try:
        assert await client.wait_ready(5)
        await asyncio.sleep(0.5)
        assert teams.state.seeded_at is None  # nothing made up meanwhile
        fake.pause("ventas", "PJSIP/1001")  # events before any seed are not applied
        fake.silent.discard("queuestatus")
        await wait_for(lambda: teams.state.seeded_at is not None, 5)  # retried after 2 s
        assert states(teams)["Lucia"] == "paused"  # the seed reads it
    finally:
        await teams.aclose()
