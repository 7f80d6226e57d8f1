"""PromptService end to end with the real espeak-ng and sox: delivery, fallbacks, recordings."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tts_helpers import tone_wav

from agi_callbot.config import Settings
from agi_callbot.errors import ConfigError, PromptError
from agi_callbot.tts.engines import EngineError, GttsEngine
from agi_callbot.tts.service import PromptService

SENTENCE = "Hola, gracias por llamar a Acme. Para ventas pulse uno, para soporte pulse dos."


def cache_files(settings: Settings) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in settings.prompts_dir.iterdir()}


def count_calls(engine: Any) -> list[str]:
    """Wrap an engine's synthesize to record the texts it was asked to speak."""
    calls: list[str] = []
    original = engine.synthesize

    async def synthesize(text: str, options: Any) -> Any:
        calls.append(text)
        return await original(text, options)

    engine.synthesize = synthesize
    return calls


async def test_local_delivery_is_an_absolute_path_without_extension(
    service: PromptService, settings: Settings
) -> None:
    target = await service.resolve(SENTENCE, language="es")
    path = Path(target)
    assert path.is_absolute() and path.parent == settings.prompts_dir
    assert re.fullmatch(r"[0-9a-f]{64}", path.name)  # no extension: Asterisk picks one
    assert path.with_suffix(".sln16").stat().st_size > 16000  # the delivered format, now
    await service.aclose()  # the other formats follow in the background
    for ext in ("sln", "ulaw", "alaw"):
        assert path.with_suffix(f".{ext}").stat().st_size > 8000
    assert service.cache.read_meta(path.name)["text"] == SENTENCE
    assert not [n for n in os.listdir(settings.prompts_dir) if n.startswith(".tmp-")]


async def test_http_delivery_is_a_long_content_addressed_url(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(
        **{"prompts.delivery": "http", "prompts.base_url": "http://callbot:8090/prompts/"}
    )
    service = PromptService.from_settings(settings)
    url = await service.resolve(SENTENCE, language="es")
    assert re.fullmatch(r"http://callbot:8090/prompts/[0-9a-f]{64}\.sln16", url)
    assert len(url) > 60  # Asterisk issue #444: short URLs fail
    await service.aclose()
    assert sorted(cache_files(settings))[1].endswith(".sln16")  # only what is delivered
    assert len(cache_files(settings)) == 2  # + its .json


async def test_deployed_delivery_names_the_sounds_file_without_rendering(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(**{"prompts.delivery": "deployed"})
    service = PromptService.from_settings(settings)
    name = await service.resolve(SENTENCE, language="es")
    assert re.fullmatch(r"callbot/[0-9a-f]{64}", name)
    assert service.stats["renders"] == 0


async def test_deployed_delivery_names_what_prompts_build_made(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    """Built offline, the prompt came from espeak-ng, not the preferred gTTS: name that one."""
    chain = {"tts.engines": ["gtts", "espeak-ng"]}
    builder = PromptService.from_settings(make_settings(**chain))
    built = await builder.render(SENTENCE, language="es", voice={})
    await builder.aclose()
    settings = make_settings(**chain, **{"prompts.delivery": "deployed"})
    deployed = PromptService.from_settings(settings)
    assert await deployed.resolve(SENTENCE, language="es") == f"callbot/{built.key}"
    assert "was not built" not in caplog.text
    await deployed.resolve("Un texto que nadie construyó.", language="es")
    assert "was not built: run `prompts build`" in caplog.text


async def test_same_text_same_file_markup_ignored_voice_matters(service: PromptService) -> None:
    plain = await service.resolve("Gracias por llamar.", language="es")
    again = await service.resolve("Gracias por llamar.", language="es")
    ssml = await service.resolve("<speak>Gracias  por <b>llamar</b>.</speak>", language="es")
    slower = await service.resolve("Gracias por llamar.", language="es", voice={"rate": 120})
    english = await service.resolve("Gracias por llamar.", language="en")
    assert plain == again == ssml
    assert len({plain, slower, english}) == 3
    assert service.stats["renders"] == 3


async def test_empty_text_plays_a_short_silence(service: PromptService) -> None:
    target = await service.resolve("   <break time='1s'/> ", language="es")
    assert await service.resolve(None, language="es") == target
    size = Path(target + ".sln16").stat().st_size
    assert 0 < size <= 16000  # well under a second


async def test_unsupported_language_goes_to_the_next_engine(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(**{"tts.engines": ["gtts", "espeak-ng"]})
    service = PromptService.from_settings(settings)
    rendered = await service.render("Saluton", language="eo", voice={})
    assert rendered.engine == "espeak-ng" and rendered.problems == ()
    with pytest.raises(PromptError, match="no engine speaks 'xx'"):
        await service.resolve("hello", language="xx")


async def test_gtts_failure_falls_back_without_a_zero_byte_file(
    make_settings: Callable[..., Settings],
) -> None:
    """Offline, gTTS fails; espeak-ng speaks; nothing empty or partial is left behind."""
    settings = make_settings(**{"tts.engines": ["gtts", "espeak-ng"]})
    service = PromptService.from_settings(settings)
    gtts_calls = count_calls(service.engines["gtts"])
    rendered = await service.render(SENTENCE, language="es", voice={})
    assert rendered.engine == "espeak-ng"
    assert [engine for engine, _ in rendered.problems] == ["gtts"]
    assert gtts_calls == [SENTENCE]
    await service.aclose()
    files = cache_files(settings)
    assert all(size > 0 for size in files.values())
    assert not [n for n in files if n.startswith(".tmp-")]
    # gTTS is now cooling down: the next prompts do not wait for it again
    await service.resolve("Otra frase distinta.", language="es", voice={})
    await service.resolve(SENTENCE, language="es")
    await service.aclose()
    assert gtts_calls == [SENTENCE]


async def test_a_better_engine_back_online_replaces_the_fallback(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(**{"tts.engines": ["gtts", "espeak-ng"]})
    service = PromptService.from_settings(settings)
    first = await service.resolve(SENTENCE, language="es")
    espeak = service.engines["espeak-ng"]

    async def google_is_back(text: str, options: Any) -> Any:
        return await espeak.synthesize(text + " Google", {"voice": "es"})

    monkeypatch.setattr(service.engines["gtts"], "synthesize", google_is_back)
    monkeypatch.setattr(GttsEngine, "failure_cooldown", 0.0)
    service.engines["gtts"].cool_down()  # cooldown of 0: over at once
    service.pauses.retry_at.clear()
    assert await service.resolve(SENTENCE, language="es") == first  # served at once…
    await service.aclose()  # …while the better engine renders in the background
    upgraded = await service.resolve(SENTENCE, language="es")
    assert upgraded != first
    assert service.cache.read_meta(Path(upgraded).name)["engine"] == "gtts"


async def test_recording_overrides_synthesis(service: PromptService, settings: Settings) -> None:
    folder = settings.tts.recordings_dir / "es"
    folder.mkdir(parents=True)
    (folder / "welcome.wav").write_bytes(tone_wav(440, 44100, 1.5))
    target = await service.resolve(SENTENCE, prompt_id="welcome", language="es")
    meta = service.cache.read_meta(Path(target).name)
    assert meta["engine"] == "recording" and meta["file"] == "es/welcome.wav"
    assert abs(Path(target + ".sln16").stat().st_size - 1.5 * 32000) < 400
    # another prompt id, or another language, is still synthesised
    other = await service.render(SENTENCE, prompt_id="goodbye", language="es", voice={})
    english = await service.render(SENTENCE, prompt_id="welcome", language="en", voice={})
    assert other.engine == english.engine == "espeak-ng"
    # a new recording is a new file (the key includes its size and time)
    (folder / "welcome.wav").write_bytes(tone_wav(440, 44100, 0.5))
    later = time.time() + 5
    os.utime(folder / "welcome.wav", (later, later))
    os.utime(folder, (later, later))
    assert await service.resolve(SENTENCE, prompt_id="welcome", language="es") != target


async def test_corrupt_recording_falls_back_and_names_the_file(
    service: PromptService, settings: Settings
) -> None:
    folder = settings.tts.recordings_dir / "es"
    folder.mkdir(parents=True)
    (folder / "welcome.mp3").write_bytes(b"\x00not audio" * 50)
    rendered = await service.render(SENTENCE, prompt_id="welcome", language="es", voice={})
    assert rendered.engine == "espeak-ng"
    ((engine, reason),) = rendered.problems
    assert engine == "recording" and "welcome.mp3: not a readable audio file" in reason


async def test_files_only_voice_needs_a_recording(service: PromptService) -> None:
    with pytest.raises(PromptError, match="no engine speaks"):
        await service.resolve("Hola", prompt_id="welcome", language="es", voice={"engine": "files"})


async def test_every_engine_failing_is_a_prompt_error(
    service: PromptService, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(text: str, options: Any) -> Any:
        raise EngineError("espeak-ng crashed")

    monkeypatch.setattr(service.engines["espeak-ng"], "synthesize", broken)
    with pytest.raises(PromptError, match=r"could not be produced.*espeak-ng crashed"):
        await service.resolve(SENTENCE, language="es")
    assert not list(service.cache.root.iterdir())


async def test_long_text_is_spoken_sentence_by_sentence(service: PromptService) -> None:
    sentence = "Esta es una frase de prueba bastante larga para el contestador automático. "
    text = sentence * 20  # ~1500 characters
    calls = count_calls(service.engines["espeak-ng"])
    target = await service.resolve(text, language="es")
    assert len(calls) >= 3 and all(len(c) <= 500 for c in calls)
    assert " ".join(calls) == text.strip()
    seconds = Path(target + ".sln16").stat().st_size / 32000
    assert seconds > 60  # all twenty sentences are there


async def test_200_concurrent_requests_for_a_new_prompt_render_once(
    service: PromptService,
) -> None:
    calls = count_calls(service.engines["espeak-ng"])
    results = await asyncio.gather(*(service.resolve(SENTENCE, language="es") for _ in range(200)))
    assert len(set(results)) == 1
    assert calls == [SENTENCE]
    assert service.stats["renders"] == 1


async def test_warm_lookup_spawns_nothing(
    service: PromptService, monkeypatch: pytest.MonkeyPatch
) -> None:
    await service.resolve(SENTENCE, prompt_id="welcome", language="es")
    await service.aclose()

    async def no_subprocess(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a warm lookup started a process")

    monkeypatch.setattr(asyncio, "create_subprocess_exec", no_subprocess)
    # how fast a warm lookup is: benchmarks/prompts.py (never a timed assertion here)
    renders = service.stats["renders"]
    for _ in range(50):
        await service.resolve(SENTENCE, prompt_id="welcome", language="es")
    assert service.stats["renders"] == renders


def test_unwritable_cache_fails_at_startup(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    (tmp_path / "blocked").write_text("not a folder")
    settings = make_settings(data_dir=str(tmp_path / "blocked"))
    with pytest.raises(ConfigError, match="blocked/prompts is not writable"):
        PromptService.from_settings(settings)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"prompts.delivery": "ftp"}, "prompts.delivery"),
        ({"prompts.http_format": "mp3"}, "unknown format 'mp3'"),
        ({"prompts.formats": ["sln", "gsm"]}, "unknown format 'gsm'"),
        ({"tts.engines": ["espeak-ng", "festival"]}, "unknown engine 'festival'"),
    ],
)
def test_bad_settings_fail_at_startup(
    make_settings: Callable[..., Settings], overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        PromptService.from_settings(make_settings(**overrides))


def test_missing_programs_fail_at_startup(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError, match="sox is not installed"):
        PromptService.from_settings(make_settings())


async def test_a_play_is_measured_by_its_one_lookup_and_sees_purges_and_new_recordings(
    service: PromptService, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    file, length = await service.resolve_measured(SENTENCE, prompt_id="welcome", language="es")
    await service.aclose()
    assert length is not None and length == service.length(file) and 2 < length < 15
    # warm: the length comes from the lstat that found the file, nothing else
    lstats: list[str] = []
    real_lstat = os.lstat

    def counted(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        lstats.append(str(path))
        return real_lstat(path, *args, **kwargs)

    monkeypatch.setattr(os, "lstat", counted)
    assert await service.resolve_measured(SENTENCE, prompt_id="welcome", language="es") == (
        file,
        length,
    )
    assert lstats == [file + ".sln16"]
    # a purge between two plays: the next play renders it again, and measures it
    renders = service.stats["renders"]
    service.cache.remove(Path(file).name)
    assert await service.resolve_measured(SENTENCE, prompt_id="welcome", language="es") == (
        file,
        length,
    )
    assert service.stats["renders"] == renders + 1
    # a recording dropped in, then replaced: the next play notices it (served at once
    # while it converts in the background, as any better candidate), then it is heard
    folder = settings.tts.recordings_dir / "es"
    folder.mkdir(parents=True)
    heard = []
    for duration, shift in ((1.5, 0), (0.5, 5)):
        (folder / "welcome.wav").write_bytes(tone_wav(440, 44100, duration))
        later = time.time() + shift
        os.utime(folder / "welcome.wav", (later, later))
        os.utime(folder, (later, later))
        noticed = await service.resolve_measured(SENTENCE, prompt_id="welcome", language="es")
        assert noticed == (file, length)  # the synthesis on disk, until the new one is in
        await service.aclose()
        recorded, measured = await service.resolve_measured(
            SENTENCE, prompt_id="welcome", language="es"
        )
        assert service.cache.read_meta(Path(recorded).name)["engine"] == "recording"
        assert measured is not None and abs(measured - duration) < 0.05
        heard.append((recorded, measured))
    assert len({file, heard[0][0], heard[1][0]}) == 3
