"""A whole node (the real ``App``) in a thread for the operations pages' browser tests:
FastAGI, HTTP with the console, outbox workers, call records, and a loopback SMS
provider, all in one event loop."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.ami.fake_ami import FakeAmi
from tests.console.browser import _Announced


@dataclass
class Node:
    """A whole node (``App``) in a thread: FastAGI, HTTP + console, outbox, records."""

    url: str
    login_url: str
    agi_port: int
    settings: Any
    app: Any
    provider: Any
    ami: Any
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Any, timeout: float = 30.0) -> Any:
        """Run ``coro`` in the node's event loop, from the test's thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


def node_settings(folder: Path, provider_url: str, ami_port: int) -> Any:
    import shutil

    from agi_callbot.config import load_settings

    examples = Path(__file__).resolve().parents[2] / "examples"
    flows = folder / "flows"
    shutil.copytree(examples / "flows", flows)
    moh = folder / "moh"
    for team in ("ventas", "soporte"):
        (moh / team).mkdir(parents=True)
    values = {
        "flows_dir": str(flows),
        "data_dir": str(folder / "var"),
        "moh_dir": str(moh),
        "listen": {"port": 0},
        "http": {"port": 0},
        "flows": {"reload": False},
        "gateways": {"sms": {"provider": "http", "url": provider_url + "/send"}},
        "templates": {"encuesta": {"language": "es", "params": 1}},
        "ami": {"enabled": True, "port": ami_port, "secret_env": "CONSOLE_TEST_AMI_SECRET"},
    }
    return load_settings(None, overrides=values, environ={})


def fake_queues() -> dict[str, Any]:
    """What the fake AMI reports: ventas with someone free, one paused, one busy and a
    caller waiting; soporte with one agent free."""
    from tests.ami.fake_ami import FakeCaller, FakeMember, FakeQueue

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


def serve_node(folder: Path) -> Iterator[Node]:
    """The real node with a loopback SMS provider, both in one thread's event loop."""
    from agi_callbot.app import App
    from tests.gateways.gateway_helpers import ProviderServer

    started = threading.Event()
    state: dict[str, Any] = {}
    handler = _Announced()
    logger = logging.getLogger("agi_callbot.console")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    async def start() -> None:
        fake_ami = FakeAmi(queues=fake_queues())
        await fake_ami.start()
        os.environ["CONSOLE_TEST_AMI_SECRET"] = fake_ami.secret
        provider = ProviderServer()
        papp = web.Application()
        papp.router.add_route("*", "/{tail:.*}", provider.handle)
        prunner = web.AppRunner(papp, shutdown_timeout=0.1)
        await prunner.setup()
        site = web.TCPSite(prunner, "127.0.0.1", 0)
        await site.start()
        provider.url = f"http://127.0.0.1:{prunner.addresses[0][1]}"
        app = App(node_settings(folder, provider.url, fake_ami.port))
        await app.start()
        await app.teams.client.wait_ready(10)
        state.update(app=app, provider=provider, prunner=prunner, ami=fake_ami)

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        state["loop"] = loop
        try:
            loop.run_until_complete(start())
        except BaseException as exc:
            state["error"] = exc
            started.set()
            return
        started.set()
        loop.run_forever()
        loop.run_until_complete(state["app"].aclose())
        state["provider"].release()
        loop.run_until_complete(state["prunner"].cleanup())
        loop.run_until_complete(state["ami"].stop())
        loop.close()

    thread = threading.Thread(target=run, name="console-node", daemon=True)
    thread.start()
    assert started.wait(60), "node did not start"
    logger.removeHandler(handler)
    if "error" in state:
        raise state["error"]
    app = state["app"]
    line = next(line for line in handler.lines if "login?token=" in line)
    login_url = re.search(r"(http://\S+/login\?token=\S+)", line).group(1)
    host, port = app.http.addresses[0][:2]
    try:
        yield Node(
            f"http://{host}:{port}",
            login_url,
            app.server.port,
            app.settings,
            app,
            state["provider"],
            state["ami"],
            state["loop"],
        )
    finally:
        state["loop"].call_soon_threadsafe(state["loop"].stop)
        thread.join(30)
