"""Real parts for flow-run tests: prompt service (espeak-ng), outbox and call records on
temporary folders, the in-memory Asterisk. The prompt cache is shared by the session so
each distinct text is rendered once."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from agi_callbot.config import Settings, load_settings
from agi_callbot.flow.simulate import SimulationServices

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="session")
def prompts_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("prompt-cache")


@pytest.fixture
def settings(tmp_path, prompts_cache) -> Settings:
    base = load_settings(EXAMPLES / "callbot.yaml", environ={})
    return dataclasses.replace(base, data_dir=tmp_path / "var")


@pytest.fixture
async def services(settings, prompts_cache):
    built = SimulationServices(settings, prompts_dir=prompts_cache)
    await built.open()
    try:
        yield built
    finally:
        await built.aclose()
