"""What a node of the operations pages' browser tests talks to, on loopback: an SMS
provider (:class:`ProviderServer`) and Asterisk's manager interface (:class:`FakeAmi`,
with a few queues), both in one event loop of their own, in a thread."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from pathlib import Path
from typing import Any

from aiohttp import web

from agi_callbot.config import load_settings
from tests.asterisk.fake_ami import FakeAmi, FakeCaller, FakeMember, FakeQueue
from tests.gateways.gateway_helpers import ProviderServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AMI_SECRET_ENV = "CONSOLE_TEST_AMI_SECRET"


def fake_queues() -> dict[str, FakeQueue]:
    """ventas: someone free, one paused, one busy and a caller waiting; soporte: one free."""
    return {
        "ventas": FakeQueue(
            members=[
                FakeMember("Lucía", "PJSIP/1001"),
                FakeMember("Marcos", "PJSIP/1002", paused=True, paused_reason="descanso"),
                FakeMember("Sara", "PJSIP/1003", status=2, in_call=True),
            ],
            callers=[FakeCaller("PJSIP/trunk-0000002a", "1795515999.7", "+34911222333", "", 37)],
        ),
        "soporte": FakeQueue(members=[FakeMember("Pablo", "PJSIP/1010")]),
    }


class LoopbackPeers:
    """``with LoopbackPeers() as peers``: ``peers.provider``, ``peers.ami``, ``peers.loop``."""

    def __enter__(self) -> LoopbackPeers:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="peers", daemon=True)
        self.thread.start()
        self.run(self._start())
        os.environ[AMI_SECRET_ENV] = self.ami.secret
        return self

    def run(self, coro: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self) -> None:
        self.ami = FakeAmi(queues=fake_queues())
        await self.ami.start()
        self.provider = ProviderServer()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.provider.handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.provider.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def _stop(self) -> None:
        self.provider.release()
        await self._runner.cleanup()
        await self.ami.stop()

    def __exit__(self, *exc: object) -> None:
        self.run(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        os.environ.pop(AMI_SECRET_ENV, None)


def node_settings(folder: Path, peers: LoopbackPeers) -> Any:
    """The example flows, SMS to the loopback provider, AMI to the fake one."""
    flows = folder / "flows"
    shutil.copytree(EXAMPLES / "flows", flows)
    for team in ("ventas", "soporte"):
        (folder / "moh" / team).mkdir(parents=True)
    values = {
        "flows_dir": str(flows),
        "data_dir": str(folder / "var"),
        "moh_dir": str(folder / "moh"),
        "flows": {"reload": False},
        "gateways": {"sms": {"provider": "http", "url": peers.provider.url + "/send"}},
        "templates": {"encuesta": {"language": "es", "params": 1}},
        "ami": {"enabled": True, "port": peers.ami.port, "secret_env": AMI_SECRET_ENV},
    }
    return load_settings(None, overrides=values, environ={})
