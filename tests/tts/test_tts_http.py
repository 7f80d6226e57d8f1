"""The prompt routes on a real aiohttp server on loopback, as Asterisk's media cache sees them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from agi_callbot.config import Settings
from agi_callbot.tts.http import routes
from agi_callbot.tts.service import PromptService

TEXT = "Para ventas pulse uno. Para soporte pulse dos."


@pytest.fixture
async def http_service(make_settings: Callable[..., Settings]) -> AsyncIterator[PromptService]:
    settings = make_settings(
        **{"prompts.delivery": "http", "prompts.base_url": "http://127.0.0.1:8090/prompts"}
    )
    service = PromptService.from_settings(settings)
    yield service
    await service.aclose()


@pytest.fixture
async def base(http_service: PromptService) -> AsyncIterator[str]:
    app = web.Application()
    app.add_routes(routes(http_service))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/prompts"
    await runner.cleanup()


async def served(http_service: PromptService, base: str) -> tuple[str, str]:
    """Resolve the prompt; return (its key, its URL on the test server)."""
    url = await http_service.resolve(TEXT, language="es")
    name = url.rsplit("/", 1)[1]
    return name.split(".")[0], f"{base}/{name}"


async def test_sln16_is_octet_stream_cached_forever(http_service: PromptService, base: str) -> None:
    key, url = await served(http_service, base)
    assert url.endswith(".sln16")
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        body = await response.read()
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/octet-stream"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["ETag"] == f'"{key}.sln16"'
    assert body == http_service.cache.path(key, "sln16").read_bytes()


async def test_if_none_match_gets_304_on_get_and_head(
    http_service: PromptService, base: str
) -> None:
    key, url = await served(http_service, base)
    etag = f'"{key}.sln16"'
    async with aiohttp.ClientSession() as session:
        for method in ("GET", "HEAD"):
            for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
                async with session.request(method, url, headers={"If-None-Match": header}) as r:
                    assert r.status == 304, (method, header)
                    assert r.headers["ETag"] == etag
                    assert "max-age" in r.headers["Cache-Control"]
                    assert await r.read() == b""
        async with session.get(url, headers={"If-None-Match": '"stale"'}) as r:
            assert r.status == 200


async def test_head_has_headers_and_no_body(http_service: PromptService, base: str) -> None:
    key, url = await served(http_service, base)
    size = http_service.cache.path(key, "sln16").stat().st_size
    port = int(base.split(":")[2].split("/")[0])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    path = url.split(str(port), 1)[1]
    writer.write(f"HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert f"Content-Length: {size}".encode() in head
    assert b"ETag: " in head and b"Cache-Control: public, max-age=" in head
    assert body == b""


@pytest.mark.parametrize(
    ("ext", "content_type"),
    [
        ("wav", "audio/wav"),
        ("wav16", "audio/x-wav;codec=pcm;bit=16;rate=16000"),
        ("ulaw", "audio/basic"),
        ("alaw", "application/octet-stream"),
        ("sln", "application/octet-stream"),
    ],
)
async def test_other_formats_are_rendered_on_first_request(
    http_service: PromptService, base: str, ext: str, content_type: str
) -> None:
    key, url = await served(http_service, base)
    assert not http_service.cache.lookup(key, ext)
    other = url.rsplit(".", 1)[0] + f".{ext}"
    async with aiohttp.ClientSession() as session, session.get(other) as response:
        body = await response.read()
        assert response.status == 200
        assert response.headers["Content-Type"] == content_type
        assert response.headers["ETag"] == f'"{key}.{ext}"'
    assert http_service.cache.lookup(key, ext)  # kept for the next request
    if ext == "wav":  # Asterisk only opens an 8 kHz mono .wav (transcript 36)
        assert body[:4] == b"RIFF" and int.from_bytes(body[24:28], "little") == 8000
    if ext == "wav16":
        assert int.from_bytes(body[24:28], "little") == 16000


async def test_unknown_prompts_and_names_are_404(http_service: PromptService, base: str) -> None:
    key, _ = await served(http_service, base)
    async with aiohttp.ClientSession() as session:
        for name in (
            "f" * 64 + ".sln16",
            f"{key}.mp3",
            f"{key}.json",
            f"{key[:20]}.sln16",
            f"{key}.sln16.tmp",
            f"..%2F{key}.sln16",
        ):
            async with session.get(f"{base}/{name}") as response:
                assert response.status == 404, name


async def test_pruned_master_is_404_not_500(http_service: PromptService, base: str) -> None:
    key, url = await served(http_service, base)
    Path(http_service.cache.path(key, "sln16")).unlink()
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 404
