"""Fixtures for the prompt tests: settings, a prompt service on a temporary folder, and the
local fake TTS providers (with their keys in the environment)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from speech_fakes import ENV, FakeSpeech

from agi_callbot.config import Settings, load_settings
from agi_callbot.tts.service import PromptService


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        base = {
            "data_dir": str(tmp_path / "var"),
            "flows_dir": str(tmp_path / "flows"),
            "moh_dir": str(tmp_path / "moh"),
            "tts.recordings_dir": str(tmp_path / "recordings"),
        }
        return load_settings(None, overrides={**base, **overrides}, environ={})

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
async def service(settings: Settings):
    svc = PromptService.from_settings(settings)
    yield svc
    await svc.aclose()


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch):
    """The fake providers, answering at once; tests set ``mode``/``script``/``delay``."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    server = await FakeSpeech().start()
    yield server
    await server.stop()
