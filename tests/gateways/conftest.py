"""Fixtures: the loopback provider server and settings with gateways pointing at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from gateway_helpers import ProviderServer

from agi_callbot.config import Settings, load_settings


@pytest.fixture
async def provider() -> AsyncIterator[ProviderServer]:
    server = ProviderServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.url = f"http://127.0.0.1:{port}"
    yield server
    server.release()
    await runner.cleanup()


@pytest.fixture
def make_settings(tmp_path: Any) -> Callable[..., Settings]:
    def make(gateways: dict[str, Any] | None = None, **overrides: Any) -> Settings:
        values = {"data_dir": str(tmp_path / "var"), "gateways": gateways or {}, **overrides}
        return load_settings(None, overrides=values, environ={})

    return make
