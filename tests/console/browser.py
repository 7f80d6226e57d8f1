"""A console server in a thread and one headless chromium for the browser tests."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agi_callbot.app import App
from agi_callbot.sim.asterisk import MemoryAsterisk
from agi_callbot.sim.setup import AsteriskSetup

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@dataclass
class ConsoleServer:
    url: str
    login_url: str
    settings: Any
    node: Any
    loop: asyncio.AbstractEventLoop

    def call(self, flow: str, *, dtmf: str = "", queues: dict[str, str] | None = None) -> list[str]:
        """One call over a real FastAGI socket to the node; the AGI commands it sent."""
        asterisk = MemoryAsterisk(
            AsteriskSetup(
                flow, callerid="+34600111222", calleridname="Ana", language="es",
                caller=dtmf, queues=dict(queues or {}),
            )
        )  # fmt: skip
        port = self.node.server.port
        future = asyncio.run_coroutine_threadsafe(asterisk.call("127.0.0.1", port), self.loop)
        future.result(60)
        return list(asterisk.commands)


class _Announced(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def serve_console(settings: Any) -> Iterator[ConsoleServer]:
    """Run a whole node (``App``: FastAGI + the HTTP listener with the console) in a
    thread, as ``serve`` does without CONSOLE_TOKEN; the login URL is the one its log
    line prints."""
    settings = dataclasses.replace(
        settings,
        listen=dataclasses.replace(settings.listen, port=0),
        http=dataclasses.replace(settings.http, port=0),
    )
    started = threading.Event()
    state: dict[str, Any] = {}
    handler = _Announced()
    logger = logging.getLogger("agi_callbot.console")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        node = App(settings, workers=False)
        try:
            loop.run_until_complete(node.start())
        except BaseException as exc:
            state["error"] = exc
            started.set()
            return
        state.update(loop=loop, node=node)
        started.set()
        loop.run_forever()
        loop.run_until_complete(node.aclose())
        loop.close()

    thread = threading.Thread(target=run, name="console-node", daemon=True)
    thread.start()
    assert started.wait(60), "the node did not start"
    logger.removeHandler(handler)
    if "error" in state:
        raise state["error"]
    line = next(line for line in handler.lines if "login?token=" in line)
    login_url = re.search(r"(http://\S+/login\?token=\S+)", line).group(1)
    node, loop = state["node"], state["loop"]
    try:
        yield ConsoleServer(login_url.split("/login")[0], login_url, settings, node, loop)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(20)


def screenshot_dir() -> Path:
    folder = Path(__file__).resolve().parents[2] / "docs" / "console"
    return folder


@dataclass
class Node:
    """A whole node (``App``) in a thread: FastAGI, HTTP + console, outbox, records."""

    url: str
    login_url: str
    agi_port: int
    settings: Any
    app: Any
    provider: Any
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Any, timeout: float = 30.0) -> Any:
        """Run ``coro`` in the node's event loop, from the test's thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


def node_settings(folder: Path, provider_url: str) -> Any:
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
    }
    return load_settings(None, overrides=values, environ={})


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
        provider = ProviderServer()
        papp = web.Application()
        papp.router.add_route("*", "/{tail:.*}", provider.handle)
        prunner = web.AppRunner(papp, shutdown_timeout=0.1)
        await prunner.setup()
        site = web.TCPSite(prunner, "127.0.0.1", 0)
        await site.start()
        provider.url = f"http://127.0.0.1:{prunner.addresses[0][1]}"
        app = App(node_settings(folder, provider.url))
        await app.start()
        state.update(app=app, provider=provider, prunner=prunner)

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
            state["loop"],
        )
    finally:
        state["loop"].call_soon_threadsafe(state["loop"].stop)
        thread.join(30)
