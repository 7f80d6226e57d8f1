"""Never make a caller wait: a slow provider is heard next time, espeak-ng speaks now.

The provider here answers in 2 s; the live budget is far shorter. No clock is read
by the assertions: "within the budget" is shown by order — the call (or the prompt)
is over before the provider has answered at all, and the next one plays its file.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from speech_fakes import FakeSpeech

from agi_callbot import metrics
from agi_callbot.app import App
from agi_callbot.config import Settings, load_settings
from agi_callbot.sim.asterisk import MemoryAsterisk
from agi_callbot.sim.setup import AsteriskSetup
from agi_callbot.tts.service import PromptService

FLOW = """\
flow: saludo
language: es
voice: {engine: google}
start: hola
blocks:
  hola:
    say: "Bienvenido a Acme, le atendemos enseguida."
    next: fin
  fin:
    hangup:
"""


@pytest.fixture
def slow_google(fake: FakeSpeech) -> FakeSpeech:
    fake.mode, fake.delay = "slow", 2.0
    return fake


def settings_for(make_settings: Callable[..., Settings], fake: FakeSpeech, **more) -> Settings:
    return make_settings(
        **{
            "tts.engines": ["google", "espeak-ng"],
            "tts.providers": {"google": fake.provider("google")},
            "tts.live_budget": "150ms",
            **more,
        }
    )


async def wait_until(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_a_prompt_past_the_budget_is_spoken_by_the_next_engine_and_cached_for_later(
    make_settings: Callable[..., Settings], slow_google: FakeSpeech
) -> None:
    service = PromptService.from_settings(settings_for(make_settings, slow_google))
    fallbacks = metrics.prompt_fallbacks_total.labels("google")
    before = fallbacks._value.get()
    text = "Bienvenido a Acme."
    first = await asyncio.gather(*(service.resolve(text, language="es") for _ in range(5)))
    assert slow_google.answered == []  # every caller was answered before the provider
    assert slow_google.count("google") == 1  # single flight across the five callers
    assert len(set(first)) == 1
    key = Path(first[0]).name
    assert service.cache.read_meta(key)["engine"] == "espeak-ng"
    assert fallbacks._value.get() - before == 5
    await service.aclose()  # lets the background render land
    assert len(slow_google.answered) == 1
    later = await service.resolve(text, language="es")
    assert later != first[0]
    assert service.cache.read_meta(Path(later).name)["engine"] == "google"
    assert slow_google.count("google") == 1  # the render of the first call, nothing more


async def test_prompts_build_waits_for_the_provider(
    make_settings: Callable[..., Settings], slow_google: FakeSpeech
) -> None:
    service = PromptService.from_settings(settings_for(make_settings, slow_google))
    rendered = await service.render("Bienvenido.", language="es", voice={})  # no budget
    assert (rendered.engine, len(slow_google.answered)) == ("google", 1)
    await service.aclose()


async def test_a_live_call_never_waits_for_a_slow_provider(
    tmp_path: Path, slow_google: FakeSpeech
) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "saludo.yaml").write_text(FLOW, encoding="utf-8")
    settings = load_settings(
        None,
        overrides={
            "data_dir": str(tmp_path / "var"),
            "flows_dir": str(flows),
            "listen.port": 0,
            "http.enabled": False,
            "flows.reload": False,
            "tts.engines": ["espeak-ng"],  # google only where the flow asks for it
            "tts.providers": {"google": slow_google.provider("google")},
            "tts.live_budget": "300ms",
        },
        environ={},
    )
    app = App(dataclasses.replace(settings), workers=False)
    await app.start()
    try:
        assert app.server is not None
        first = MemoryAsterisk(AsteriskSetup("saludo", callerid="+34600111222", language="es"))
        await first.call("127.0.0.1", app.server.port)
        # the whole call, prompt and hang-up, was over before the provider answered
        assert slow_google.count("google") == 1 and slow_google.answered == []
        played = [c for c in first.commands if c.startswith("STREAM FILE")]
        assert len(played) == 1
        heard = played[0].split('"')[1] if '"' in played[0] else played[0].split()[2]
        meta = json.loads(Path(heard + ".json").read_text())
        assert meta["engine"] == "espeak-ng"

        prompts = app.prompts
        await wait_until(lambda: len(slow_google.answered) == 1)
        await wait_until(lambda: not prompts._tasks)
        second = MemoryAsterisk(AsteriskSetup("saludo", callerid="+34600111222", language="es"))
        await second.call("127.0.0.1", app.server.port)
        replayed = [c for c in second.commands if c.startswith("STREAM FILE")]
        neural = replayed[0].split('"')[1] if '"' in replayed[0] else replayed[0].split()[2]
        assert neural != heard
        assert json.loads(Path(neural + ".json").read_text())["engine"] == "google"
        assert Path(neural + ".sln").stat().st_size > 0  # the 8 kHz files came too
        assert slow_google.count("google") == 1
    finally:
        await app.aclose()
