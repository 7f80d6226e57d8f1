"""Hostile caller text through whole example flows: never a second command line, never a crash.

The caller controls their number and name (a SIP ``From`` header), the digits they press
and, through the dialplan, AGI arguments. Hypothesis generates them — quotes,
backslashes, UTF-8, control characters, 8 KB strings, line breaks — and each example
flow runs under them through the in-memory Asterisk. Every line the engine sent must be
one well-formed command with a known verb, and the call must end with a status the
dialplan can branch on. A line break in the name is special: Asterisk 22 sends it raw
and it cuts the env block short (transcript 27), so such a call may end ``FAILED``
(the dialplan fails over) — but it must still end cleanly.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agi_callbot.agi.commands import parse_args, parse_command
from agi_callbot.config import Settings, load_settings
from agi_callbot.flow.loader import FlowLibrary
from agi_callbot.router import pin
from agi_callbot.sim.simulate import Scenario, simulate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FLOWS = ("soporte", "support", "demo")
VERBS = {
    "ANSWER", "HANGUP", "NOOP", "CHANNEL", "STREAM", "CONTROL", "GET", "WAIT", "SAY",
    "EXEC", "SET", "VERBOSE", "DATABASE",
}  # fmt: skip
STATUSES = {"COMPLETED", "TRANSFERRED", "HANGUP", "NO_AGENT"}

hostile_char = st.one_of(
    st.sampled_from(list("\"\\'$(){}[],;|&`*#% \t\r\x00\x1b\u2028\u202e")),
    st.characters(blacklist_categories=("Cs",)),
)
long_text = st.builds(
    lambda s, n: (s * n)[:8192], st.text(hostile_char, min_size=1, max_size=8), st.integers(1, 2048)
)
hostile = st.one_of(st.text(hostile_char, max_size=40), long_text)
no_newline = hostile.map(lambda s: s.replace("\n", " "))
dtmf = st.lists(
    st.one_of(st.sampled_from(list("0123456789*#")), st.sampled_from(["wait:3", "wait:6"])),
    max_size=8,
).map(",".join)


@pytest.fixture(scope="module")
def base() -> Settings:
    return load_settings(EXAMPLES / "callbot.yaml", environ={})


@pytest.fixture(scope="module")
def prompts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prompts")


async def run(base: Settings, tmp: Path, prompts_dir: Path, flow_name: str, scenario: Scenario):
    config = dataclasses.replace(base, data_dir=tmp)
    flow, subflows = pin(FlowLibrary(EXAMPLES / "flows", settings=config), flow_name)
    return await simulate(flow, scenario, config, subflows=subflows, prompts_dir=prompts_dir)


def check_lines(commands: list[str]) -> None:
    for line in commands:
        parse_command(line)  # LocalProtocolError for CR/LF/NUL/empty/oversized
        assert parse_args(line)[0] in VERBS, f"not a command: {line[:80]!r}"


@pytest.mark.parametrize("flow_name", FLOWS)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=no_newline, number=no_newline, digits=dtmf, arg=no_newline)
async def test_caller_text_stays_inside_its_arguments(
    flow_name, base, prompts_dir, tmp_path_factory, name, number, digits, arg
) -> None:
    scenario = Scenario(caller=number, caller_name=name, dtmf=digits, args=(arg,))
    tmp = tmp_path_factory.mktemp("call")
    transcript = await run(base, tmp, prompts_dir, flow_name, scenario)
    assert not transcript.result.error, transcript.result.error
    assert transcript.status in STATUSES
    assert transcript.variables.get("CALLBOT_STATUS") == transcript.status
    check_lines(transcript.commands)


@pytest.mark.parametrize("flow_name", FLOWS)
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(before=no_newline, after=hostile)
async def test_a_line_break_in_the_caller_name_ends_the_call_cleanly(
    flow_name, base, prompts_dir, tmp_path_factory, before, after
) -> None:
    scenario = Scenario(caller_name=f"{before}\n{after}", dtmf="wait:3,1")
    tmp = tmp_path_factory.mktemp("call")
    transcript = await run(base, tmp, prompts_dir, flow_name, scenario)
    assert transcript.status in STATUSES | {"FAILED"}
    check_lines(transcript.commands)
