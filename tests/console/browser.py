"""A console server in a thread and one headless chromium for the browser tests."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agi_callbot.app import App
from agi_callbot.console.auth import login_link_file
from agi_callbot.sim.asterisk import MemoryAsterisk
from agi_callbot.sim.setup import AsteriskSetup

CHROMIUM = "/usr/bin/chromium"
#: ``CONSOLE_SCREENSHOTS=1`` writes the README's screenshots to docs/console/
SHOTS = os.environ.get("CONSOLE_SCREENSHOTS") == "1"
#: every browser test module's ``pytestmark``
BROWSER_TESTS = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]
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


def serve_console(settings: Any, *, workers: bool = False) -> Iterator[ConsoleServer]:
    """Run a whole node (``App``: FastAGI + the HTTP listener with the console) in a
    thread, as ``serve`` does without CONSOLE_TOKEN; the login URL is the one it keeps
    in its mode-600 file. ``workers``: the outbox sends (the operations pages' tests)."""
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
        node = App(settings, workers=workers)
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
    # the log names the link's file, never the token; the file holds the link
    line = next(line for line in handler.lines if "login-url" in line)
    assert "token=" not in line, line
    login_url = login_link_file(settings).read_text().strip()
    assert re.fullmatch(r"http://\S+/login\?token=\S+", login_url), login_url
    node, loop = state["node"], state["loop"]
    try:
        yield ConsoleServer(login_url.split("/login")[0], login_url, settings, node, loop)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(20)


def screenshot_dir() -> Path:
    folder = Path(__file__).resolve().parents[2] / "docs" / "console"
    return folder


def shot(target: Any, name: str, **options: Any) -> None:
    """A screenshot of a page (or of one element) for the README, with CONSOLE_SCREENSHOTS=1."""
    if SHOTS:
        folder = screenshot_dir()
        folder.mkdir(parents=True, exist_ok=True)
        target.screenshot(path=str(folder / f"{name}.png"), **options)


@contextlib.contextmanager
def logged_in(browser: Any, server: ConsoleServer, locale: str) -> Iterator[Any]:
    """A fresh browser context speaking ``locale``, logged in with the printed token;
    on the way out, no script error may have happened in it."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale=locale)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")  # 4xx we test
            else None
        ),
    )
    page.goto(server.login_url)
    yield page
    context.close()
    assert not errors, errors
