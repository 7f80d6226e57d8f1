"""Issue 6's end-to-end check: a flow's SMS, WhatsApp, e-mail and webhook actions, in a
call over a real FastAGI socket to the whole node (App), end as requests on local
provider servers (an aiohttp server playing the SMS gateway, Meta's Cloud API and a
webhook receiver; aiosmtpd for e-mail) with the right fields."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from agi_callbot.app import App
from agi_callbot.config import load_settings
from agi_callbot.sim.asterisk import MemoryAsterisk
from agi_callbot.sim.setup import AsteriskSetup

FLOW = """\
flow: avisos
language: es
voice: {engine: espeak-ng, voice: es}
start: hola
blocks:
  hola:
    say: "Hola."
    actions:
      - sms: {to: "${caller}", from: "+34910000000", text: "Su enlace: https://acme.example/a"}
      - optin: {channel: whatsapp}
      - email:
          {to: "soporte@acme.example", subject: "Llamada de ${caller}", body: "Pidió el enlace."}
    next: adios
  adios:
    hangup: {message: "Adiós."}
on_hangup:
  - whatsapp: {to: "${caller}", template: encuesta, language: es, params: ["${caller_name}"]}
  - webhook: {url: "HOOK_URL", body: {caller: "${caller}", name: "${caller_name}", flow: avisos}}
"""


class Provider:
    """One local HTTP server standing in for the SMS gateway, Meta and a webhook receiver."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/sms", self.sms)
        app.router.add_post("/meta/{phone}/messages", self.meta)
        app.router.add_post("/hook", self.hook)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def sms(self, request: web.Request) -> web.Response:
        self.requests.append(("sms", dict(request.headers), await request.json()))
        return web.json_response({"id": "sms-1"})

    async def meta(self, request: web.Request) -> web.Response:
        self.requests.append(("whatsapp", dict(request.headers), await request.json()))
        return web.json_response({"messages": [{"id": "wamid.1"}]})

    async def hook(self, request: web.Request) -> web.Response:
        self.requests.append(("webhook", dict(request.headers), await request.json()))
        return web.json_response({"ok": True})

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


async def test_a_calls_messages_reach_every_provider_with_the_right_fields(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = Provider()
    await provider.start()
    mailbox = Mailbox()
    smtp_port = free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    monkeypatch.setenv("CALLBOT_TEST_WA_TOKEN", "meta-token-123")
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "avisos.yaml").write_text(
        FLOW.replace("HOOK_URL", f"{provider.url}/hook")
    )
    settings = load_settings(
        None,
        overrides={
            "data_dir": str(tmp_path / "var"),
            "flows_dir": str(tmp_path / "flows"),
            "listen.port": 0,
            "http.enabled": False,
            "gateways": {
                "sms": {
                    "provider": "http",
                    "url": f"{provider.url}/sms",
                    "body": {"to": "{to}", "from": "{from}", "text": "{text}"},
                },
                "whatsapp": {
                    "provider": "meta",
                    "base_url": f"{provider.url}/meta",
                    "phone_number_id": "1234",
                    "token_env": "CALLBOT_TEST_WA_TOKEN",
                },
                "email": {
                    "host": "127.0.0.1",
                    "port": smtp_port,
                    "security": "none",
                    "from": "callbot@acme.example",
                },
                "webhook": {"url": f"{provider.url}/hook"},
            },
            "templates": {"encuesta": {"language": "es", "params": 1}},
        },
        environ={"CALLBOT_TEST_WA_TOKEN": "meta-token-123"},
    )
    node = App(settings)
    await node.start()
    try:
        assert node.server is not None
        ast = MemoryAsterisk(
            AsteriskSetup("avisos", callerid="600111222", calleridname="Ana", language="es")
        )
        await ast.call("127.0.0.1", node.server.port)
        assert ast.variables["CALLBOT_STATUS"] == "COMPLETED"
        for _ in range(200):
            if len(provider.requests) >= 3 and mailbox.messages:
                break
            await asyncio.sleep(0.05)
    finally:
        await node.aclose()
        smtp.stop()
        await provider.close()

    sent = {channel: (headers, body) for channel, headers, body in provider.requests}
    assert sent["sms"][1] == {
        "to": "+34600111222",
        "from": "+34910000000",
        "text": "Su enlace: https://acme.example/a",
    }
    headers, body = sent["whatsapp"]
    assert headers["Authorization"] == "Bearer meta-token-123"
    assert body["to"] == "+34600111222" and body["type"] == "template"
    assert body["template"]["name"] == "encuesta"
    assert body["template"]["language"]["code"] == "es"
    assert body["template"]["components"][0]["parameters"] == [{"type": "text", "text": "Ana"}]
    headers, body = sent["webhook"]
    assert body == {"caller": "+34600111222", "name": "Ana", "flow": "avisos"}
    assert headers.get("Idempotency-Key")
    (mail,) = mailbox.messages
    assert mail.rcpt_tos == ["soporte@acme.example"]
    text = mail.content.decode()
    assert "Subject: Llamada de +34600111222" in text and "Pidió el enlace." in text
    assert json.dumps(provider.requests).count("meta-token-123") == 1  # only in its header
