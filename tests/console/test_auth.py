"""Who may use the console: every page and API route refuses a request without a
session or token; a state change without the CSRF token is refused; logins are
rate-limited; passwords are stored as scrypt hashes."""

from __future__ import annotations

import re

from aiohttp import web

from agi_callbot.console.auth import COOKIE, check_password, hash_password
from tests.console.conftest import TOKEN


def console_routes(client):
    """Every console route (method, path with its variables filled in)."""
    out = []
    for route in client.server.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if not path or route.method == "HEAD" or path.startswith("/console-static"):
            continue
        path = re.sub(r"\{name[^}]*\}", "soporte", path)
        path = re.sub(r"\{[^}]*\}", "x", path)
        out.append((route.method, path))
    return out


async def test_every_route_refuses_without_a_session(client):
    routes = console_routes(client)
    assert len(routes) >= 15
    for method, path in routes:
        if path == "/login":
            continue
        r = await client.request(method, path, allow_redirects=False, json={})
        if path.startswith("/api/"):
            assert r.status == 401, (method, path, r.status)
        elif method == "GET":
            assert r.status == 303 and r.headers["Location"] == "/login", (method, path)
        else:
            assert r.status in (303, 401, 403), (method, path, r.status)


async def test_wrong_bearer_token_is_refused(client):
    r = await client.get("/api/flows", headers={"Authorization": "Bearer nope"})
    assert r.status == 401
    r = await client.get("/api/flows", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status == 200


async def login(client) -> str:
    r = await client.get(f"/login?token={TOKEN}", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/flows"
    cookie = r.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    page = await (await client.get("/flows")).text()
    return re.search(r'name="csrf" content="([^"]+)"', page).group(1)


async def test_session_cookie_and_csrf(client, settings):
    csrf = await login(client)
    r = await client.get("/api/flows/soporte")
    assert r.status == 200
    data = await r.json()
    body = {"yaml": data["yaml"] + "\n", "base_version": data["version"]}
    r = await client.put("/api/flows/soporte", json=body)
    assert r.status == 403
    r = await client.put("/api/flows/soporte", json=body, headers={"X-CSRF-Token": "forged"})
    assert r.status == 403
    assert (settings.flows_dir / "soporte.yaml").read_text() == data["yaml"]
    r = await client.put("/api/flows/soporte", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status == 200


async def test_logout_needs_csrf_and_ends_the_session(client):
    csrf = await login(client)
    r = await client.post("/logout", allow_redirects=False)
    assert r.status == 403
    r = await client.post("/logout", data={"csrf": csrf}, allow_redirects=False)
    assert r.status == 303
    client.session.cookie_jar.clear()
    r = await client.get("/api/flows")
    assert r.status == 401


async def test_login_is_rate_limited(client):
    for _ in range(5):
        r = await client.post("/login", data={"secret": "guess"})
        assert r.status == 401
    r = await client.post("/login", data={"secret": TOKEN})
    assert r.status == 429


def test_password_hash_round_trip():
    stored = hash_password("s3cret pass")
    assert stored.startswith("scrypt$") and "s3cret" not in stored
    assert check_password("s3cret pass", stored)
    assert not check_password("s3cret pas", stored)
    assert not check_password("x", "garbage")


async def test_password_login(settings, tmp_path):
    import dataclasses

    from aiohttp.test_utils import TestClient, TestServer

    from agi_callbot.console import mount

    console = dataclasses.replace(settings.console, password_hash=hash_password("clave-larga"))
    app = web.Application()
    mount(app, dataclasses.replace(settings, console=console), token=TOKEN)
    async with TestClient(TestServer(app)) as client:
        r = await client.post("/login", data={"secret": "clave-larga"}, allow_redirects=False)
        assert r.status == 303
        assert (await client.get("/api/flows")).status == 200
