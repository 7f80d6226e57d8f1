"""A whole node scraped over HTTP after a real call: what Prometheus and the lab would see."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from agi_callbot.app import App
from agi_callbot.config import Log, load_settings
from agi_callbot.log import setup_logging
from agi_callbot.sim.asterisk import MemoryAsterisk
from agi_callbot.sim.setup import AsteriskSetup

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
async def node(tmp_path: Path):
    base = load_settings(EXAMPLES / "callbot.yaml", environ={})
    settings = dataclasses.replace(
        base,
        data_dir=tmp_path / "var",
        listen=dataclasses.replace(base.listen, port=0),
        http=dataclasses.replace(base.http, port=0),
        flows=dataclasses.replace(base.flows, reload=False),
    )
    app = App(settings)  # workers on: the outbox registers its scrape-time collector
    await app.start()
    try:
        yield app
    finally:
        await app.aclose()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_health_readiness_and_metrics_of_a_node_that_took_a_call(node: App) -> None:
    assert node.server is not None and node.http is not None
    host, port = node.http.addresses[0][:2]
    base = f"http://{host}:{port}"
    ast = MemoryAsterisk(AsteriskSetup("soporte", callerid="+34600111222", calleridname="Ana",
                         language="es", caller="wait:3,2,wait:3,1"))  # fmt: skip
    await ast.call("127.0.0.1", node.server.port)
    assert ast.variables["CALLBOT_STATUS"] == "COMPLETED"

    async with aiohttp.ClientSession() as session:
        async with session.get(base + "/healthz") as resp:
            assert resp.status == 200
        async with session.get(base + "/readyz") as resp:
            ready = await resp.json()
            assert resp.status == 200, ready
        async with session.get(base + "/metrics") as resp:
            assert resp.status == 200
            scraped = samples(await resp.text())

    assert ready["checks"]["flows"] >= 3 and ready["checks"]["outbox"] == "ok"
    completed = ("callbot_calls_total", (("flow", "soporte"), ("outcome", "COMPLETED")))
    assert scraped[completed] >= 1
    assert scraped[("callbot_agi_command_seconds_count", (("command", "STREAM FILE"),))] >= 1
    # the outbox's scrape-time collector ran: the call stored an SMS, an email, a WhatsApp
    depth = {k[1][0][1]: v for k, v in scraped.items() if k[0] == "callbot_outbox_depth"}
    assert sum(depth.values()) >= 3, depth
    assert ("callbot_ami_connected", ()) in scraped


async def test_log_lines_of_a_call_name_it_and_a_hangup_is_not_an_error(node: App) -> None:
    assert node.server is not None
    stream = io.StringIO()
    level = logging.getLogger().level
    handler = setup_logging(Log(format="json", level="DEBUG"), stream=stream)
    try:
        ast = MemoryAsterisk(AsteriskSetup("soporte", callerid="+34600111222", calleridname="Ana",
                             language="es", caller="wait:3,2", hangup_at_command=6))  # fmt: skip
        await ast.call("127.0.0.1", node.server.port)
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(level)  # later tests count their own log lines
    assert ast.variables["CALLBOT_STATUS"] == "HANGUP"
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    # lines of the call's own task (outbox workers and library loads are not the call's)
    call_lines = [e for e in lines if e.get("flow")]
    assert len(call_lines) >= 3, lines
    for entry in call_lines:
        assert entry["flow"] == "soporte", entry
        assert entry.get("uniqueid") == ast.environment.uniqueid, entry
        assert entry.get("channel") == ast.environment.channel, entry
    assert not [e for e in lines if e["level"] in ("error", "critical")]
    assert "+34600111222" not in stream.getvalue()
