"""Settings shared by the whole suite, and the real parts of the tests that run calls.

Hypothesis' per-example deadline (200 ms by default) is a timing assertion: on a loaded
CI machine it fails tests whose logic is fine. Speed is measured in benchmarks/, so the
suite runs every property test without a deadline.

Tests that run calls (flow, router, app, sim) get the real parts: prompt service
(espeak-ng), outbox and call records on temporary folders, the in-memory Asterisk. The
prompt cache is shared by the session so each distinct text is rendered once.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import hypothesis
import pytest

from agi_callbot.config import Settings, load_settings
from agi_callbot.log import forget_secrets
from agi_callbot.sim.simulate import SimulationServices

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

hypothesis.settings.register_profile("callbot", deadline=None)
hypothesis.settings.load_profile("callbot")


@pytest.fixture(autouse=True)
def _logging_left_as_found():
    """A test that runs the node's logging set-up (serve, the CLI) changes process-wide
    loggers; put ours back so later tests see the levels and handlers they expect.
    (The root logger's handlers belong to pytest's log capture: only its level is ours.)"""
    root_level = logging.root.level
    ours = [
        "agi_callbot",
        *(n for n in logging.root.manager.loggerDict if n.startswith("agi_callbot.")),
    ]
    saved = {}
    for name in ours:
        lg = logging.getLogger(name)
        saved[name] = (lg.level, list(lg.handlers), list(lg.filters), lg.propagate, lg.disabled)
    yield
    logging.root.setLevel(root_level)
    for name, (level, handlers, filters, propagate, disabled) in saved.items():
        lg = logging.getLogger(name)
        lg.setLevel(level)
        lg.handlers[:] = handlers
        lg.filters[:] = filters
        lg.propagate = propagate
        lg.disabled = disabled


@pytest.fixture(autouse=True)
def _forget_secrets():
    """A secret one test registers for redaction (a gateway built with ``token: t``) must
    not blank out letters in the next test's log lines."""
    yield
    forget_secrets()


@pytest.fixture(scope="session")
def prompts_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("prompt-cache")


@pytest.fixture
def settings(tmp_path) -> Settings:
    base = load_settings(EXAMPLES / "callbot.yaml", environ={})
    return dataclasses.replace(base, data_dir=tmp_path / "var")


@pytest.fixture
async def services(settings, prompts_cache):
    built = SimulationServices(settings, prompts_dir=prompts_cache, work_dir=settings.data_dir)
    await built.open()
    try:
        yield built
    finally:
        await built.aclose()


@pytest.fixture
def settings_for(prompts_cache, tmp_path):
    """Settings whose flows live in ``folder`` (a test's own flows)."""

    def make(folder: Path) -> Settings:
        base = load_settings(EXAMPLES / "callbot.yaml", environ={})
        return dataclasses.replace(base, flows_dir=folder, data_dir=tmp_path / "var")

    return make


@pytest.fixture
def write_flow():
    """Write ``<folder>/<name>.yaml`` (a test's own flow)."""

    def write(folder: Path, name: str, text: str) -> Path:
        path = folder / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def place_call():
    """``await place_call(services, settings, flow, subflows, **AsteriskSetup fields)``."""
    return call


async def call(services, settings, flow, subflows=None, **asterisk):
    """One call of ``flow`` through the in-memory Asterisk with ``services``."""
    from agi_callbot.flow.runner import run_call
    from agi_callbot.sim.asterisk import MemoryAsterisk
    from agi_callbot.sim.setup import AsteriskSetup

    asterisk.setdefault("callerid", "+34600111222")
    ast = MemoryAsterisk(AsteriskSetup(asterisk.pop("script", flow.name), **asterisk))

    async def handler(channel):
        return await run_call(channel, flow, services, settings, subflows=subflows)

    result = await ast.run(handler)
    return ast, result
