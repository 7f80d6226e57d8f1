"""A console server in a thread and one headless chromium for the browser tests."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from agi_callbot.console import mount

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
    console: Any
    loop: asyncio.AbstractEventLoop


class _Announced(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def serve_console(settings: Any) -> Iterator[ConsoleServer]:
    """Run the console (token generated, as ``serve`` does without CONSOLE_TOKEN) in a
    thread; the login URL is the one the log line prints."""
    started = threading.Event()
    state: dict[str, Any] = {}
    handler = _Announced()
    logger = logging.getLogger("agi_callbot.console")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        app = web.Application(client_max_size=3 * 1024 * 1024)
        console = mount(app, settings)
        runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        port = runner.addresses[0][1]
        console.guard.announce(f"http://127.0.0.1:{port}")
        state.update(loop=loop, runner=runner, console=console, port=port)
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, name="console-server", daemon=True)
    thread.start()
    assert started.wait(20), "console server did not start"
    logger.removeHandler(handler)
    line = next(line for line in handler.lines if "login?token=" in line)
    login_url = re.search(r"(http://\S+/login\?token=\S+)", line).group(1)
    try:
        yield ConsoleServer(
            f"http://127.0.0.1:{state['port']}",
            login_url,
            settings,
            state["console"],
            state["loop"],
        )
    finally:
        state["loop"].call_soon_threadsafe(state["loop"].stop)
        thread.join(10)


def screenshot_dir() -> Path:
    folder = Path(__file__).resolve().parents[2] / "docs" / "console"
    return folder
