"""The session cookie is Secure when the browser came over HTTPS: directly (TLS on the
socket) or through a reverse proxy the admin trusts (``console.trusted_proxies``). The
same forwarding headers from any other peer change nothing. Real sockets throughout."""

from __future__ import annotations

import dataclasses
import ssl
import subprocess

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from agi_callbot.config import load_settings
from agi_callbot.console import mount
from agi_callbot.console.auth import COOKIE
from agi_callbot.console.proxies import TrustedProxies, _bare
from agi_callbot.errors import ConfigError
from tests.console.conftest import TOKEN


def with_proxies(settings, *proxies: str):
    console = dataclasses.replace(settings.console, trusted_proxies=tuple(proxies))
    return dataclasses.replace(settings, console=console)


def session_cookie(response) -> str:
    """The raw Set-Cookie line of the session cookie."""
    lines = [v for v in response.headers.getall("Set-Cookie", []) if v.startswith(COOKIE + "=")]
    assert len(lines) == 1, response.headers.getall("Set-Cookie", [])
    return lines[0]


def secure(line: str) -> bool:
    return any(part.strip().lower() == "secure" for part in line.split(";"))


async def login(client, headers=None):
    r = await client.get(f"/login?token={TOKEN}", headers=headers or {}, allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/flows"
    return session_cookie(r)


async def serve(settings):
    app = web.Application()
    mount(app, settings, token=TOKEN)
    return TestClient(TestServer(app, host="127.0.0.1"))


HTTPS_HEADERS = [
    {"X-Forwarded-Proto": "https"},
    {"Forwarded": "for=192.0.2.60;proto=https"},
    {"X-Forwarded-Proto": "http, https"},  # the nearest proxy appends last
]


@pytest.mark.parametrize("headers", HTTPS_HEADERS)
async def test_a_trusted_proxy_saying_https_makes_the_cookie_secure(settings, headers):
    async with await serve(with_proxies(settings, "127.0.0.0/8")) as client:
        line = await login(client, headers)
        assert secure(line) and "HttpOnly" in line and "SameSite=Strict" in line
        # plain HTTP through the same proxy: not Secure
        client.session.cookie_jar.clear()
        assert not secure(await login(client, {"X-Forwarded-Proto": "http"}))
        assert not secure(await login(client))


@pytest.mark.parametrize("proxies", [(), ("10.0.0.0/8", "::1")])
@pytest.mark.parametrize("headers", HTTPS_HEADERS)
async def test_the_same_header_from_an_untrusted_peer_changes_nothing(settings, proxies, headers):
    async with await serve(with_proxies(settings, *proxies)) as client:
        line = await login(client, headers)
        assert not secure(line)
        # the session works as any other: the header did not matter
        assert (await client.get("/api/flows")).status == 200
        # and a forged X-Forwarded-For does not reset the login rate limit: the peer's
        # own address is the one counted
        client.session.cookie_jar.clear()
        for n in range(5):
            forged = {**headers, "X-Forwarded-For": f"198.51.100.{n}"}
            r = await client.post("/login", data={"secret": "guess"}, headers=forged)
            assert r.status == 401
        forged = {**headers, "X-Forwarded-For": "198.51.100.99"}
        r = await client.post("/login", data={"secret": TOKEN}, headers=forged)
        assert r.status == 429


async def test_behind_a_trusted_proxy_the_rate_limit_counts_each_browser(settings):
    async with await serve(with_proxies(settings, "127.0.0.1")) as client:
        one = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
        for _ in range(5):
            r = await client.post("/login", data={"secret": "guess"}, headers=one)
            assert r.status == 401
        assert (await client.post("/login", data={"secret": TOKEN}, headers=one)).status == 429
        # another browser behind the same proxy can still log in
        other = {"X-Forwarded-For": "203.0.113.8", "X-Forwarded-Proto": "https"}
        r = await client.post(
            "/login", data={"secret": TOKEN}, headers=other, allow_redirects=False
        )
        assert r.status == 303 and secure(session_cookie(r))


async def test_tls_on_the_socket_makes_the_cookie_secure(settings, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    client_side = ssl.create_default_context(cafile=str(cert))
    client_side.check_hostname = False
    app = web.Application()
    mount(app, settings, token=TOKEN)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(ssl=server_side)
    async with TestClient(server) as client:
        assert str(client.make_url("/")).startswith("https://")
        r = await client.get(f"/login?token={TOKEN}", allow_redirects=False, ssl=client_side)
        assert r.status == 303 and secure(session_cookie(r))


def test_trusted_proxies_setting():
    settings = load_settings(
        None, overrides={"console.trusted_proxies": ["10.0.0.5", "192.168.1.0/24"]}, environ={}
    )
    assert settings.console.trusted_proxies == ("10.0.0.5", "192.168.1.0/24")
    env = load_settings(None, environ={"CALLBOT_CONSOLE__TRUSTED_PROXIES": '["::1"]'})
    assert env.console.trusted_proxies == ("::1",)
    assert load_settings(None, environ={}).console.trusted_proxies == ()
    with pytest.raises(ConfigError, match=r"console\.trusted_proxies.*'10\.0\.0\.300'"):
        load_settings(None, overrides={"console.trusted_proxies": ["10.0.0.300"]}, environ={})


def test_which_addresses_are_trusted():
    proxies = TrustedProxies(["10.0.0.0/8", "2001:db8::1"])
    assert proxies.trusts("10.1.2.3") and proxies.trusts("::ffff:10.1.2.3")
    assert proxies.trusts("2001:db8::1") and not proxies.trusts("2001:db8::2")
    assert not proxies.trusts("127.0.0.1") and not proxies.trusts("") and not proxies.trusts(None)
    assert not TrustedProxies().trusts("127.0.0.1")
    assert _bare("[2001:db8::1]:4711") == "2001:db8::1" and _bare('"192.0.2.1:80"') == "192.0.2.1"
    assert _bare("2001:db8::1") == "2001:db8::1"
