"""Random callers on the example flows: whatever they press, wait or do, the call ends
with a status the dialplan can branch on, the post-call WhatsApp queued once, a record,
and never an engine error."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agi_callbot.config import load_settings
from agi_callbot.flow.loader import FlowLibrary
from agi_callbot.router import pin
from agi_callbot.sim.simulate import Scenario, simulate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CONFIG = load_settings(EXAMPLES / "callbot.yaml", environ={})
LIBRARY = FlowLibrary.from_settings(CONFIG)

actions = st.one_of(
    st.sampled_from(list("0123456789*#")),
    st.integers(min_value=1, max_value=12).map(lambda n: f"wait:{n}"),
    st.just("hangup"),
)
scenarios = st.builds(
    Scenario,
    caller=st.sampled_from(["+34600111222", "600111222", "", "anonymous", "+1415555"]),
    caller_name=st.sampled_from(["Ana", "", "José\tMaría", "x" * 300]),
    dtmf=st.lists(actions, max_size=14).map(",".join),
    queues=st.fixed_dictionaries(
        {},
        optional={
            t: st.sampled_from(["answer", "timeout", "full", "joinempty", "leaveempty", "continue"])
            for t in ("ventas", "soporte", "sales", "support")
        },
    ),
    dial=st.fixed_dictionaries(
        {},
        optional={
            "PJSIP/1001": st.sampled_from(
                ["ANSWER", "BUSY", "NOANSWER", "CHANUNAVAIL", "CONGESTION"]
            )
        },
    ),
    teams=st.fixed_dictionaries(
        {}, optional={"sales": st.integers(-1, 2), "ventas": st.integers(-1, 2)}
    ),
    at=st.sampled_from(
        [
            "2026-11-25T10:00:00+01:00",
            "2026-11-29T10:00:00+01:00",
            "2026-12-25T12:00:00+01:00",
            "2026-11-25T14:30:00+01:00",
        ]
    ),
    hangup_at=st.none() | st.integers(min_value=1, max_value=40),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(["soporte", "support", "demo"]), scenario=scenarios)
def test_any_caller_leaves_a_status_and_the_post_call_message(name, scenario, tmp_path_factory):
    flow, subflows = pin(LIBRARY, name)
    config = dataclasses.replace(
        CONFIG,
        data_dir=tmp_path_factory.getbasetemp() / "random-callers",
    )
    t = asyncio.run(simulate(flow, scenario, config, subflows=subflows))
    assert not t.result.error, t.result.error
    assert t.status in ("COMPLETED", "TRANSFERRED", "HANGUP", "NO_AGENT")
    assert t.variables["CALLBOT_STATUS"] == t.status
    assert [m["block"] for m in t.messages].count("on_hangup") == 1
    assert t.result.record["uniqueid"] and t.result.record["status"] == t.status
