"""The caller hangs up at every command of every example case, over real loopback FastAGI.

``tests/flow`` does this through the in-memory Asterisk with the runner called directly;
here the whole node runs (:class:`agi_callbot.app.App`: router, flow library, prompt
service, outbox and call records on a temporary folder, the FastAGI server on a loopback
port) and the in-memory Asterisk is bridged to a real TCP connection, so the transport,
the router and the post-call path are in the loop too.

Each hangup point: the server logs no ERROR, ``CALLBOT_STATUS`` is set and is not
``FAILED``, the flow's ``on_hangup`` message is queued in the outbox, the call record is
written with the same status.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest

from agi_callbot.app import App
from agi_callbot.config import Settings, load_settings
from agi_callbot.router import pin
from agi_callbot.sim.asterisk import MemoryAsterisk
from agi_callbot.sim.cases import case_flow, find_case_files, load_cases
from agi_callbot.sim.setup import AsteriskSetup

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CASES = [case for file in find_case_files([EXAMPLES / "flows"]) for case in load_cases(file)]
READ_TIMEOUT_S = 20.0


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the module: prompts rendered once, records and outbox filtered by call."""
    return tmp_path_factory.mktemp("node")


@pytest.fixture
async def node(data_dir: Path):
    base = load_settings(EXAMPLES / "callbot.yaml", environ={})
    settings: Settings = dataclasses.replace(
        base,
        data_dir=data_dir,
        listen=dataclasses.replace(base.listen, port=0),
        http=dataclasses.replace(base.http, enabled=False),
        flows=dataclasses.replace(base.flows, reload=False),
    )
    app = App(settings, workers=False)  # messages stay queued: the test reads them
    await app.start()
    try:
        yield app
    finally:
        await app.aclose()


def world(case, flow_name: str) -> dict:
    s = case.scenario
    return {
        "script": flow_name + (f"?{s.query}" if s.query else ""),
        "caller": s.dtmf,
        "callerid": s.caller,
        "calleridname": s.caller_name,
        "queues": s.queues,
        "dial": s.dial,
        "args": tuple(s.args),
        "missing_sounds": set(s.missing_sounds),
    }


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.file.name}: {c.name}")
async def test_hangup_at_every_command_over_fastagi(
    case, node: App, caplog: pytest.LogCaptureFixture
) -> None:
    flow, _ = pin(*case_flow(case, node.settings))
    assert node.server is not None and node.services is not None
    port = node.server.port
    full = MemoryAsterisk(AsteriskSetup(**world(case, flow.name)))
    await full.call("127.0.0.1", port, timeout=READ_TIMEOUT_S)
    assert full.variables.get("CALLBOT_STATUS") not in (None, "FAILED"), full.commands
    outbox, records = node.services.outbox, node.services.records
    caplog.set_level(logging.ERROR)

    for at in range(1, len(full.commands) + 1):
        ast = MemoryAsterisk(AsteriskSetup(**world(case, flow.name), hangup_at_command=at))
        await ast.call("127.0.0.1", port, timeout=READ_TIMEOUT_S)
        where = f"hangup at command {at} ({ast.commands[at - 1]!r})"
        uniqueid = ast.environment.uniqueid
        status = ast.variables.get("CALLBOT_STATUS")
        assert status not in (None, "FAILED"), where
        queued = [m for m in await outbox.list(limit=10_000) if m.call_uniqueid == uniqueid]
        assert [m.block for m in queued].count("on_hangup") == (1 if flow.on_hangup else 0), where
        recorded = [r for r in await records.last(50) if r["uniqueid"] == uniqueid]
        assert len(recorded) == 1 and recorded[0]["status"] == status, where
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert not errors, f"{where}: {errors[0].getMessage()}"
