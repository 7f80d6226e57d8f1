"""Engines with the real espeak-ng; gTTS only on its failure paths (no internet here)."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
from tts_helpers import wav_info

from agi_callbot.config import Settings, Tts
from agi_callbot.errors import ConfigError
from agi_callbot.tts.engines import (
    EngineError,
    EspeakEngine,
    GttsEngine,
    Recordings,
    build_engines,
    language_tags,
)


def test_language_tags() -> None:
    assert language_tags("es_ES") == ["es-es", "es"]
    assert language_tags("en") == ["en"]


def test_espeak_speaks_spanish_and_english() -> None:
    engine = EspeakEngine(Tts())
    assert engine.options("es", {}) == {"voice": "es"}
    assert engine.options("es_ES", {}) == {"voice": "es"}
    assert engine.options("en", {}) == {"voice": "en"}
    assert engine.options("en-US", {}) == {"voice": "en-us"}
    assert engine.options("xx", {}) is None


def test_espeak_voice_and_rate_from_the_flow() -> None:
    engine = EspeakEngine(Tts())
    voice = {"engine": "espeak-ng", "voice": "es-419", "rate": 150, "pitch": 40}
    assert engine.options("es", voice) == {"voice": "es-419", "speed": 150, "pitch": 40}
    # a voice meant for another engine does not leak into espeak-ng's options
    assert engine.options("es", {"engine": "gtts", "voice": "es", "tld": "es"}) == {"voice": "es"}
    assert engine.options("es", {"voice": "es; rm -rf /"}) == {"voice": "es"}
    assert engine.options("es", {"rate": "fast", "pitch": 500}) == {"voice": "es", "pitch": 99}
    # the flow's Spanish voice does not read the English translation
    assert engine.options("en", {"engine": "espeak-ng", "voice": "es-419"}) == {"voice": "en"}


async def test_espeak_synthesizes_wav() -> None:
    engine = EspeakEngine(Tts())
    audio = await engine.synthesize("Hola, gracias por llamar.", {"voice": "es"})
    rate, channels, _ = wav_info(audio.data[:44] + b"\0" * 16)
    assert (rate, channels) == (22050, 1)
    assert len(audio.data) > 20000
    assert audio.sox_args == ("-t", "wav")


async def test_espeak_text_starting_with_a_dash_is_spoken_not_an_option() -> None:
    engine = EspeakEngine(Tts())
    audio = await engine.synthesize("-v xx menos cinco grados", {"voice": "es"})
    assert len(audio.data) > 20000


async def test_espeak_unknown_voice_is_an_engine_error() -> None:
    with pytest.raises(EngineError, match="espeak-ng failed"):
        await EspeakEngine(Tts()).synthesize("hola", {"voice": "zz-nonexistent"})


def test_gtts_options_without_network() -> None:
    engine = GttsEngine(Tts())
    assert engine.options("es", {}) == {"lang": "es"}
    assert engine.options("fr_CA", {}) == {"lang": "fr-CA"}
    assert engine.options("eo", {}) is None  # Esperanto: espeak-ng only
    voice = {"engine": "gtts", "voice": "es", "tld": "es", "slow": True}
    assert engine.options("es_ES", voice) == {"lang": "es", "tld": "es", "slow": True}
    assert engine.options("en", voice) == {"lang": "en", "tld": "es", "slow": True}


async def test_gtts_offline_fails_as_engine_error() -> None:
    engine = GttsEngine(Tts())
    with pytest.raises(EngineError, match="gtts"):
        await engine.synthesize("hola", {"lang": "es"})
    assert GttsEngine.failure_cooldown > 0


async def test_gtts_hanging_network_hits_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy that accepts and never answers: gTTS must not hold the call for longer."""
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(16)
    proxy = f"http://127.0.0.1:{blackhole.getsockname()[1]}"
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    engine = GttsEngine(Tts(gtts_timeout=0.5))  # type: ignore[arg-type]
    started = time.monotonic()
    try:
        with pytest.raises(EngineError, match="gtts"):
            await engine.synthesize("hola", {"lang": "es"})
    finally:
        blackhole.close()
    assert 0.4 <= time.monotonic() - started < 2.0


def test_build_engines_refuses_unknown_names(settings: Settings) -> None:
    assert set(build_engines(settings.tts)) >= {"espeak-ng", "gtts"}
    with pytest.raises(ConfigError, match="unknown engine 'festival'"):
        build_engines(Tts(engines=("festival",)))


def test_recordings_by_language_and_prompt_id(tmp_path: Path) -> None:
    (tmp_path / "es").mkdir()
    (tmp_path / "es" / "welcome.wav").write_bytes(b"x")
    (tmp_path / "es" / "main_menu.no_input.mp3").write_bytes(b"x")
    recordings = Recordings(tmp_path)
    assert recordings.find("es", "welcome") == tmp_path / "es" / "welcome.wav"
    assert recordings.find("es_ES", "welcome") == tmp_path / "es" / "welcome.wav"
    assert recordings.find("es", "main_menu.no_input") == tmp_path / "es" / "main_menu.no_input.mp3"
    assert recordings.find("en", "welcome") is None
    assert recordings.find("es", None) is None
    assert recordings.find("es", "../es/welcome") is None
    assert recordings.find("../es", "welcome") is None


def test_recordings_notice_a_new_file(tmp_path: Path) -> None:
    folder = tmp_path / "en"
    folder.mkdir()
    recordings = Recordings(tmp_path)
    assert recordings.find("en", "goodbye") is None
    (folder / "goodbye.ogg").write_bytes(b"x")
    later = time.time() + 5
    os.utime(folder, (later, later))  # a coarse-mtime filesystem still sees the change
    assert recordings.find("en", "goodbye") == folder / "goodbye.ogg"


def test_recordings_lookup_is_one_stat_when_unchanged(tmp_path: Path) -> None:
    (tmp_path / "es").mkdir()
    (tmp_path / "es" / "welcome.wav").write_bytes(b"x")
    calls: list[str] = []

    def counting_stat(path: str) -> os.stat_result:
        calls.append(path)
        return os.stat(path)

    recordings = Recordings(tmp_path, stat=counting_stat)
    recordings.find("es", "welcome")
    calls.clear()
    assert recordings.find("es", "welcome") is not None
    assert len(calls) == 1
