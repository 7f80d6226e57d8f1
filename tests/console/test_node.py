"""The console inside a whole node: on the HTTP listener, or on a listener of its own."""

from __future__ import annotations

import dataclasses
import logging

import aiohttp

from agi_callbot.app import App


def node_settings(settings, **console):
    return dataclasses.replace(
        settings,
        listen=dataclasses.replace(settings.listen, port=0),
        http=dataclasses.replace(settings.http, port=0),
        flows=dataclasses.replace(settings.flows, reload=False),
        console=dataclasses.replace(settings.console, **console),
    )


async def test_own_listener_keeps_the_console_off_the_callbacks_port(settings, caplog, monkeypatch):
    monkeypatch.setenv("CONSOLE_TOKEN", "chosen-token-123")
    caplog.set_level(logging.INFO, logger="agi_callbot.console")
    # console.port 0 means "on the HTTP listener"; a real port gives it a listener of its own
    node = App(node_settings(settings, port=0), workers=False)
    await node.start()
    try:
        assert node.console_http is None
        host, port = node.http.addresses[0][:2]
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://{host}:{port}/api/flows") as r,
        ):
            assert r.status == 401
        # a token chosen by the admin is never logged
        assert "chosen-token-123" not in caplog.text
        assert "/login" in caplog.text
    finally:
        await node.aclose()


async def test_console_on_its_own_port(settings, unused_tcp_port):
    node = App(node_settings(settings, port=unused_tcp_port), workers=False)
    await node.start()
    try:
        assert node.console_http is not None
        host, port = node.http.addresses[0][:2]
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://{host}:{port}/api/flows") as r:
                assert r.status == 404  # not on the callbacks' listener
            async with session.get(f"http://{host}:{port}/healthz") as r:
                assert r.status == 200
            token = node.console.guard.token
            headers = {"Authorization": f"Bearer {token}"}
            async with session.get(
                f"http://127.0.0.1:{unused_tcp_port}/api/flows", headers=headers
            ) as r:
                assert r.status == 200
    finally:
        await node.aclose()


async def test_console_disabled(settings):
    node = App(node_settings(settings, enabled=False), workers=False)
    await node.start()
    try:
        host, port = node.http.addresses[0][:2]
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://{host}:{port}/flows", allow_redirects=False) as r,
        ):
            assert r.status == 404
    finally:
        await node.aclose()


async def test_stopping_the_node_stops_the_consoles_workers_first(settings, monkeypatch):
    """Drain: the console's workers are stopped before the calls are waited for."""
    from tests.console.test_workers import gone

    monkeypatch.setenv("CONSOLE_TOKEN", "chosen-token-123")
    node = App(node_settings(settings, port=0), workers=False)
    await node.start()
    host, port = node.http.addresses[0][:2]
    headers = {"Authorization": "Bearer chosen-token-123"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://{host}:{port}/api/flows", headers=headers) as r,
    ):
        assert r.status == 200
    pids = node.console.workers.pids()
    assert pids
    drained: list[bool] = []
    shutdown = node.server.shutdown

    async def drain(*args, **kwargs):
        drained.append(all(gone(pid) for pid in pids))
        await shutdown(*args, **kwargs)

    monkeypatch.setattr(node.server, "shutdown", drain)
    await node.aclose()
    assert drained == [True]
