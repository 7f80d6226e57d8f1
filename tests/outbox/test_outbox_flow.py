"""A flow's message actions, end to end: a call through the in-memory Asterisk and the
real runner, the real outbox with its workers, the real SMS (generic HTTP) and webhook
gateways, and the loopback provider receiving the requests."""

from __future__ import annotations

import json
from pathlib import Path

from outbox_loopback import ProviderServer

from agi_callbot.config import load_settings
from agi_callbot.flow.loader import load_flow
from agi_callbot.flow.runner import run_call
from agi_callbot.gateways import build_gateways
from agi_callbot.gateways.webhook import in_call_webhooks
from agi_callbot.outbox.service import Outbox
from agi_callbot.records import CallRecords
from agi_callbot.services import Services, SystemClock
from agi_callbot.sim.asterisk import MemoryAsterisk
from agi_callbot.sim.setup import AsteriskSetup
from agi_callbot.sim.simulate import ScriptedTeams
from agi_callbot.tts.service import PromptService

FLOW = """\
flow: aviso
language: es
start: hola
blocks:
  hola:
    say: "Hola."
    actions:
      - sms: {to: "${caller}", text: "Su enlace: https://acme.example/a"}
    next: adios
  adios:
    hangup: {message: "Adiós."}
on_hangup:
  - webhook: {url: "URL", body: {caller: "${caller}", name: "${caller_name}"}}
"""


async def test_a_call_s_messages_reach_the_providers(
    tmp_path: Path, provider: ProviderServer
) -> None:
    settings = load_settings(
        None,
        overrides={
            "data_dir": str(tmp_path / "var"),
            "flows_dir": str(tmp_path / "flows"),
            "gateways": {
                "sms": {
                    "provider": "http",
                    "url": provider.url,
                    "body": {"to": "{to}", "text": "{text}", "key": "{key}"},
                },
                "webhook": {"url": provider.url},
            },
        },
        environ={},
    )
    path = tmp_path / "flows" / "aviso.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(FLOW.replace("URL", provider.url), encoding="utf-8")
    flow = load_flow(path)

    gateways = build_gateways(settings)
    outbox = Outbox.from_settings(settings, gateways)
    await outbox.start()
    prompts = PromptService.from_settings(settings)
    records = CallRecords(settings.calls_db)
    await records.open()
    services = Services(
        prompts=prompts,
        outbox=outbox,
        optins=outbox.optins,
        teams=ScriptedTeams(),
        records=records,
        clock=SystemClock(),
        webhooks=in_call_webhooks(settings),
    )
    ast = MemoryAsterisk(AsteriskSetup(script="aviso", callerid="600111222", calleridname="Ana"))

    async def handler(channel):
        return await run_call(channel, flow, services, settings)

    await ast.run(handler)
    received = await provider.wait_for(2)
    await outbox.aclose()
    for gateway in gateways.values():
        await gateway.aclose()
    await prompts.aclose()
    await records.aclose()

    bodies = {("sms" if "text" in r.body else "webhook"): r for r in received}
    sms = bodies["sms"].body
    assert sms["to"] == "+34600111222"
    assert sms["text"] == "Su enlace: https://acme.example/a"
    hook = bodies["webhook"]
    assert "+34600111222" in json.dumps(hook.body) and "Ana" in json.dumps(hook.body)
    uniqueid = sms["key"].removesuffix("/hola/0")
    assert (sms["key"], hook.key) == (f"{uniqueid}/hola/0", f"{uniqueid}/on_hangup/0")
    assert len(received) == 2
