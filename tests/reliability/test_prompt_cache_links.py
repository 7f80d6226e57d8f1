"""Issue 14.3: the prompt cache serves and converts only regular files inside itself.

Found: a symlink planted in ``data/prompts/`` was served over HTTP (``/etc/passwd`` came
back) and converted by sox.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from agi_callbot.config import load_settings
from agi_callbot.tts.http import routes
from agi_callbot.tts.service import PromptService

SECRET = b"root:x:0:0:secret line that must never be served\n"
KEY = "ab" * 32


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[PromptService, str, Path]]:
    settings = load_settings(
        None,
        overrides={
            "data_dir": str(tmp_path / "var"),
            "prompts.delivery": "http",
            "prompts.base_url": "http://127.0.0.1:8090/prompts",
        },
        environ={},
    )
    service = PromptService.from_settings(settings)
    service.cache.root.mkdir(parents=True, exist_ok=True)
    outside = tmp_path / "outside-secret"
    outside.write_bytes(SECRET * 200)
    app = web.Application()
    app.add_routes(routes(service))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield service, f"http://127.0.0.1:{runner.addresses[0][1]}/prompts", outside
    await runner.cleanup()
    await service.aclose()


async def get(url: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.read()


async def test_a_planted_link_is_not_served(served) -> None:
    service, base, outside = served
    os.symlink(outside, service.cache.path(KEY, "ulaw"))
    status, body = await get(f"{base}/{KEY}.ulaw")
    assert status == 404
    assert b"secret line" not in body


async def test_a_planted_link_is_not_converted(served) -> None:
    service, base, outside = served
    os.symlink(outside, service.cache.path(KEY, "sln16"))  # the master sox would read
    status, body = await get(f"{base}/{KEY}.ulaw")
    assert status == 404
    assert b"secret" not in body
    assert not service.cache.path(KEY, "ulaw").exists()
    assert service.cache.renders == 0


def test_lookup_sees_only_regular_files(served) -> None:
    service, _, outside = served
    os.symlink(outside, service.cache.path(KEY, "sln"))
    assert not service.cache.lookup(KEY, "sln")
    assert service.cache.size(KEY, "sln") == 0  # a play's length is not the link target's
    assert service.length(str(service.cache.stem(KEY))) is None
    os.mkdir(service.cache.path(KEY, "wav"))
    assert not service.cache.lookup(KEY, "wav")
    assert service.cache.size(KEY, "wav") == 0


def test_reading_refuses_a_link_swapped_in_after_the_lookup(served) -> None:
    service, _, outside = served
    path = service.cache.path(KEY, "sln")
    path.write_bytes(b"\x00\x01" * 100)
    assert service.cache.lookup(KEY, "sln")
    path.unlink()
    os.symlink(outside, path)  # between the lookup and the read
    with pytest.raises(FileNotFoundError):
        service.cache.read(KEY, "sln")
