"""The content-addressed cache: atomic files, single flight, start-up checks."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from agi_callbot.errors import ConfigError, PromptError
from agi_callbot.tts.cache import TEMP_PREFIX, PromptCache, is_key, prompt_key

KEY = "a" * 64


def test_prompt_key_is_canonical() -> None:
    a = prompt_key({"text": "Hola", "engine": "espeak-ng", "options": {"voice": "es", "speed": 1}})
    b = prompt_key({"options": {"speed": 1, "voice": "es"}, "engine": "espeak-ng", "text": "Hola"})
    assert a == b and is_key(a)
    assert a != prompt_key({"text": "Hola.", "engine": "espeak-ng", "options": {"voice": "es"}})


def test_a_key_is_64_lower_case_hex_digits() -> None:
    assert is_key("0123456789abcdef" * 4)
    for not_a_key in ("a" * 63, "a" * 65, "A" * 64, "a" * 32 + "g" + "a" * 31, "a" * 63 + "\n"):
        assert not is_key(not_a_key), not_a_key
    assert not is_key("a" * 31 + "/" + "a" * 32) and not is_key("")


async def test_produce_renames_a_complete_file_into_place(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path)
    seen_during_render: list[bool] = []

    async def render(temp: Path) -> None:
        temp.write_bytes(b"half")
        seen_during_render.append(cache.lookup(KEY, "sln"))
        await asyncio.sleep(0.01)
        with temp.open("ab") as f:
            f.write(b" and the rest")

    path = await cache.produce(KEY, "sln", render)
    assert seen_during_render == [False]  # nobody could see the partial file
    assert path == tmp_path / f"{KEY}.sln"
    assert path.read_bytes() == b"half and the rest"
    assert os.listdir(tmp_path) == [f"{KEY}.sln"]


async def test_failed_render_leaves_nothing(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path)

    async def render(temp: Path) -> None:
        temp.write_bytes(b"partial")
        raise PromptError("engine died")

    with pytest.raises(PromptError, match="engine died"):
        await cache.produce(KEY, "sln", render)
    assert os.listdir(tmp_path) == []


async def test_empty_render_is_refused(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path)

    async def render(temp: Path) -> None:
        temp.write_bytes(b"")

    with pytest.raises(PromptError, match="empty"):
        await cache.produce(KEY, "sln", render)
    assert os.listdir(tmp_path) == []


async def test_single_flight_200_concurrent_requests_render_once(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path)
    calls = 0

    async def render(temp: Path) -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        temp.write_bytes(b"audio")

    paths = await asyncio.gather(*(cache.produce(KEY, "sln", render) for _ in range(200)))
    assert calls == 1 and cache.renders == 1
    assert set(paths) == {tmp_path / f"{KEY}.sln"}
    # a later request is a hit: no render at all
    await cache.produce(KEY, "sln", render)
    assert calls == 1


async def test_a_caller_hanging_up_does_not_cancel_the_render(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path)
    started = asyncio.Event()

    async def render(temp: Path) -> None:
        started.set()
        await asyncio.sleep(0.05)
        temp.write_bytes(b"audio")

    impatient = asyncio.ensure_future(cache.produce(KEY, "sln", render))
    patient = asyncio.ensure_future(cache.produce(KEY, "sln", render))
    await started.wait()
    impatient.cancel()
    assert (await patient).read_bytes() == b"audio"
    assert impatient.cancelled()


async def test_on_commit_runs_once_after_the_file_is_there(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path)
    committed: list[bool] = []

    async def render(temp: Path) -> None:
        await asyncio.sleep(0.01)
        temp.write_bytes(b"audio")

    def on_commit(path: Path) -> None:
        committed.append(path.exists())

    await asyncio.gather(*(cache.produce(KEY, "sln", render, on_commit) for _ in range(5)))
    assert committed == [True]


def test_unwritable_cache_dir_is_a_clear_startup_error(tmp_path: Path) -> None:
    blocker = tmp_path / "var"
    blocker.write_text("a file where the folder should be")
    cache = PromptCache(blocker / "prompts")
    with pytest.raises(ConfigError, match=r"prompt cache .*var/prompts is not writable"):
        cache.check_writable()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_cache_dir_is_a_clear_startup_error(tmp_path: Path) -> None:
    folder = tmp_path / "prompts"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(ConfigError, match="not writable: Permission denied"):
            PromptCache(folder).check_writable()
    finally:
        folder.chmod(0o755)


def test_check_writable_leaves_no_probe(tmp_path: Path) -> None:
    PromptCache(tmp_path / "prompts").check_writable()
    assert os.listdir(tmp_path / "prompts") == []


def test_entries_remove_and_stale_temps(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path)
    other = "b" * 64
    for name in (f"{KEY}.sln", f"{KEY}.ulaw", f"{other}.sln16"):
        (tmp_path / name).write_bytes(b"12345")
    cache.write_meta(KEY, {"text": "Hola", "engine": "espeak-ng"})
    old_temp = tmp_path / f"{TEMP_PREFIX}{KEY}.alaw.1.abcd"
    old_temp.write_bytes(b"x")
    long_ago = time.time() - 7200
    os.utime(old_temp, (long_ago, long_ago))
    fresh_temp = tmp_path / f"{TEMP_PREFIX}{KEY}.wav.2.abcd"
    fresh_temp.write_bytes(b"x")

    entries = {e.key: e for e in cache.entries()}
    assert set(entries) == {KEY, other}
    assert entries[KEY].formats == ("sln", "ulaw")
    assert entries[KEY].meta["text"] == "Hola"
    assert entries[other].meta == {}

    assert cache.remove_stale_temps(3600) == 1
    assert fresh_temp.exists() and not old_temp.exists()
    assert cache.remove(KEY) >= 10
    assert sorted(os.listdir(tmp_path)) == sorted([f"{other}.sln16", fresh_temp.name])
