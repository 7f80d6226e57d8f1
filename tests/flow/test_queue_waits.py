"""How long a caller waited in a team's queue, in the call record of every queue transfer.

The in-memory Asterisk keeps a virtual clock and leaves ``ANSWEREDTIME`` as Asterisk 22
does (whole seconds talked, rounded down; 0 when nobody answered: transcripts 09-12),
so the wait the engine measures (the ``EXEC Queue``'s time less ``ANSWEREDTIME``) is
the simulated one: the ring before the agent answered, the queue's timeout, the moment
the caller hung up. With AMI, ``AgentConnect``'s ``HoldTime`` replaces the measure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agi_callbot import metrics
from agi_callbot.flow.loader import FlowLibrary
from agi_callbot.router import pin
from agi_callbot.sim.setup import QueueSetup
from agi_callbot.sim.simulate import Scenario, ScriptedTeams, simulate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


async def run(settings, flow_name: str, **scenario):
    flow, subflows = pin(FlowLibrary(EXAMPLES / "flows", settings=settings), flow_name)
    return await simulate(flow, Scenario(**scenario), settings, subflows=subflows)


@pytest.mark.parametrize(
    ("outcome", "status", "wait"),
    [
        ("answer", "ANSWER", 3.0),  # the member rang 3 s (ring_seconds) and answered
        ("timeout", "TIMEOUT", 120.0),  # the block's max_wait: 120s
        ("leaveempty", "LEAVEEMPTY", 5.0),
        ("hangup", "HANGUP", 3.0),  # the caller gave up while queued
        ("full", "FULL", 0.0),  # never joined
        ("joinempty", "JOINEMPTY", 0.0),
    ],
)
async def test_each_way_a_queue_ends_records_the_wait(settings, outcome, status, wait):
    t = await run(settings, "support", dtmf="wait:3,1", queues={"sales": outcome})
    (transfer,) = t.result.record["transfers"]
    assert (transfer["target"], transfer["outcome"]) == ("sales", status)
    assert transfer["wait_s"] == pytest.approx(wait, abs=0.05)
    assert transfer["wait_from"] == "measured"


async def test_announcements_before_the_queue_are_not_part_of_the_wait(settings):
    """The block's own announcement plays before EXEC Queue; a queue announcement (38)
    plays inside it and is part of the wait."""
    t = await run(
        settings,
        "support",
        dtmf="wait:3,1",
        queues={"sales": QueueSetup("timeout", waiting=1)},
    )
    (transfer,) = t.result.record["transfers"]
    assert transfer["outcome"] == "TIMEOUT"
    assert transfer["wait_s"] >= 120.0


async def test_an_agent_transfer_has_no_queue_wait(settings):
    t = await run(
        settings, "support", dtmf="wait:3,3", teams={"support": 0}, dial={"PJSIP/1001": "BUSY"}
    )
    nobody, agent = t.result.record["transfers"]
    assert nobody["outcome"] == "NOBODY" and "wait_s" not in nobody  # never queued
    assert agent["outcome"] == "BUSY" and "wait_s" not in agent


async def test_the_wait_is_in_the_transcript_and_the_metrics(settings):
    before = (
        metrics.REGISTRY.get_sample_value(
            "callbot_transfer_wait_seconds_count", {"team": "sales", "answered": "true"}
        )
        or 0
    )
    t = await run(settings, "support", dtmf="wait:3,1", queues={"sales": "answer"})
    (result,) = [e for e in t.result.events if e["event"] == "transfer_result"]
    assert result["wait_s"] == pytest.approx(3.0, abs=0.05)
    after = metrics.REGISTRY.get_sample_value(
        "callbot_transfer_wait_seconds_count", {"team": "sales", "answered": "true"}
    )
    assert after == before + 1


class TeamsWithHoldTimes(ScriptedTeams):
    """AMI's queue model as the flow sees it: ``hold_time(uniqueid)`` from AgentConnect."""

    def __init__(self, held: int) -> None:
        super().__init__({})
        self.held = held
        self.asked: list[str] = []

    def hold_time(self, uniqueid: str) -> int | None:
        self.asked.append(uniqueid)
        return self.held


async def test_asterisk_hold_time_wins_for_an_answered_call(settings, services, place_call):
    flow, subflows = pin(FlowLibrary(EXAMPLES / "flows", settings=settings), "support")
    services.teams = teams = TeamsWithHoldTimes(7)
    _, result = await place_call(
        services, settings, flow, subflows, caller="wait:3,1", queues={"sales": "answer"}
    )
    (transfer,) = result.record["transfers"]
    assert (transfer["wait_s"], transfer["wait_from"]) == (7.0, "asterisk")
    assert teams.asked == [result.record["uniqueid"]]  # the AGI channel is the queued one
    # unanswered: the measure stays (Asterisk's HoldTime is whole seconds; ours is not)
    _, result = await place_call(
        services, settings, flow, subflows, caller="wait:3,1", queues={"sales": "timeout"}
    )
    assert result.record["transfers"][0]["wait_from"] == "measured"
