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


async def test_a_generated_token_is_never_logged_its_link_is_in_a_private_file(
    settings, caplog, monkeypatch, capsys
):
    """Without CONSOLE_TOKEN the node makes a token; no log line carries it (logs go to
    journald, files, aggregators), the login link is in a mode-600 file that
    `agi-callbot console-url` prints and that logs in; it goes with the node."""
    from agi_callbot.cli import main
    from agi_callbot.console.auth import login_link_file

    monkeypatch.delenv("CONSOLE_TOKEN", raising=False)
    caplog.set_level(logging.DEBUG)
    config = settings.data_dir.parent / "console-url.yaml"
    config.write_text(f"data_dir: {settings.data_dir}\n", encoding="utf-8")
    node = App(node_settings(settings, port=0), workers=False)
    link_file = login_link_file(settings)
    await node.start()
    try:
        token = node.console.guard.token
        assert token not in caplog.text and "token=" not in caplog.text
        assert str(link_file) in caplog.text  # the log says where the link is
        assert link_file.stat().st_mode & 0o777 == 0o600
        url = link_file.read_text(encoding="utf-8").strip()
        host, port = node.http.addresses[0][:2]
        assert url == f"http://{host}:{port}/login?token={token}"
        assert main(["--config", str(config), "console-url"]) == 0
        assert capsys.readouterr().out.strip() == url
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as browser, browser.get(url) as r:
            assert r.status == 200 and str(r.url).endswith("/flows")
    finally:
        await node.aclose()
    assert not link_file.exists()  # the token died with the node
    assert main(["--config", str(config), "console-url"]) == 1
    assert "no login link" in capsys.readouterr().err


async def test_a_chosen_token_leaves_no_link_file(settings, monkeypatch):
    from agi_callbot.console.auth import login_link_file

    stale = login_link_file(settings)
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("http://127.0.0.1:1/login?token=old\n", encoding="utf-8")
    monkeypatch.setenv("CONSOLE_TOKEN", "chosen-token-123")
    node = App(node_settings(settings, port=0), workers=False)
    await node.start()
    try:
        assert not stale.exists()  # an earlier run's link would no longer log in
    finally:
        await node.aclose()
