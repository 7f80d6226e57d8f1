"""The example flows' own test cases (examples/flows/*.test.yaml) run under pytest too."""

from __future__ import annotations

from pathlib import Path

import pytest

from agi_callbot.flow.cases import find_case_files, load_cases, run_case

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


CASES = [case for file in find_case_files([EXAMPLES / "flows"]) for case in load_cases(file)]


def test_every_example_flow_has_test_cases():
    flows = {p.stem for p in (EXAMPLES / "flows").glob("*.yaml") if ".test" not in p.name}
    assert flows <= {case.flow for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.flow}: {c.name}")
async def test_example_case(case, settings, prompts_cache):
    result = await run_case(case, settings, prompts_dir=prompts_cache)
    assert result.passed, "\n".join(result.failures)
    assert result.transcript is not None
    assert result.transcript.variables["CALLBOT_STATUS"] == result.transcript.status
