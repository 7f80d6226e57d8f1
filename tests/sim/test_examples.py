"""The example flows' own test cases (examples/flows/*.test.yaml) run under pytest too."""

from __future__ import annotations

from pathlib import Path

import pytest

from agi_callbot.sim.cases import find_case_files, load_cases, run_case

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


CASES = [case for file in find_case_files([EXAMPLES / "flows"]) for case in load_cases(file)]


def test_every_example_flow_has_test_cases():
    folder = EXAMPLES / "flows"
    flows = {
        p.relative_to(folder).with_suffix("").as_posix()
        for p in folder.rglob("*.yaml")
        if not p.name.endswith(".test.yaml")
    }
    tested = {
        case.flow or case.file.relative_to(folder).as_posix().removesuffix(".test.yaml")
        for case in CASES
    }
    assert flows == tested


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.file.name}: {c.name}")
async def test_example_case(case, settings, prompts_cache):
    result = await run_case(case, settings, prompts_dir=prompts_cache)
    assert result.passed, "\n".join(result.failures)
    assert result.transcript is not None
    assert result.transcript.variables["CALLBOT_STATUS"] == result.transcript.status
