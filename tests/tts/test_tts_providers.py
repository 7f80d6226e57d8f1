"""The neural providers against local servers speaking their APIs: success and every failure.

Each kind renders through the real PromptService (real sox): success is the provider's
audio in the cache; a 400 is one text's problem (next engine, breaker closed); a
refused key opens the breaker at once; a 429 with a long Retry-After is not waited
for; a 500 is retried then opens the breaker; a slow answer meets the request timeout.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from speech_fakes import KEYS, TONES, FakeSpeech
from tts_helpers import rms, samples

from agi_callbot.config import Settings
from agi_callbot.errors import ConfigError
from agi_callbot.tts.engines import build_engines
from agi_callbot.tts.providers import ProviderError
from agi_callbot.tts.service import PromptService

KINDS = ("google", "azure", "polly", "openai")
TEXT = "Hola, gracias por llamar. Le atendemos en el +34 912 345 678 <break time='300ms'/> ahora."


@pytest.fixture
def speaking(make_settings: Callable[..., Settings], fake: FakeSpeech):
    """A prompt service whose chain is ``[<kind>, espeak-ng]`` against the fake."""
    made: list[PromptService] = []

    def make(kind: str, **extra: Any) -> PromptService:
        settings = make_settings(
            **{
                "tts.engines": [kind, "espeak-ng"],
                "tts.providers": {kind: fake.provider(kind, **extra)},
                "prompts.delivery": "http",
            }
        )
        service = PromptService.from_settings(settings)
        made.append(service)
        return service

    yield make


def tone_level(service: PromptService, key: str, freq: float) -> float:
    """How much of ``freq`` the rendered .sln16 holds (Goertzel-style correlation)."""
    import math

    data = samples(service.cache.path(key, "sln16").read_bytes())[:8000]
    re_part = sum(v * math.cos(2 * math.pi * freq * n / 16000) for n, v in enumerate(data))
    im_part = sum(v * math.sin(2 * math.pi * freq * n / 16000) for n, v in enumerate(data))
    return math.hypot(re_part, im_part) / max(len(data), 1) / max(rms(data), 1)


@pytest.mark.parametrize("kind", KINDS)
async def test_each_provider_speaks_a_prompt_into_the_cache(
    speaking: Callable[..., PromptService], fake: FakeSpeech, kind: str
) -> None:
    service = speaking(kind)
    rendered = await service.render(TEXT, language="es", voice={})
    assert (rendered.engine, rendered.problems) == (kind, ())
    assert service.cache.path(rendered.key, "sln16").stat().st_size > 16000 * 2 * 0.4
    # the provider's own tone, not espeak-ng: its frequency dominates the file
    own = tone_level(service, rendered.key, TONES[kind])
    others = [tone_level(service, rendered.key, f) for k, f in TONES.items() if k != kind]
    assert own > 5 * max(others)
    sent = fake.seen[-1]
    if kind == "google":
        body = sent.json()
        assert body["voice"] == {"languageCode": "es-ES", "name": "es-ES-Neural2-A"}
        assert body["audioConfig"] == {
            "audioEncoding": "LINEAR16", "sampleRateHertz": 16000, "speakingRate": 1.0
        }  # fmt: skip
        ssml = body["input"]["ssml"]
        assert ssml.startswith("<speak>") and '<break time="300ms"/>' in ssml
        assert '<say-as interpret-as="telephone">+34 912 345 678</say-as>' in ssml
        assert sent.headers["X-Goog-Api-Key"] == KEYS["google"]
    elif kind == "azure":
        assert sent.headers["Content-Type"] == "application/ssml+xml"
        assert sent.body.startswith(b'<speak version="1.0"')
        assert b'<voice name="es-ES-ElviraNeural">' in sent.body
    elif kind == "polly":
        body = sent.json()
        assert (body["VoiceId"], body["Engine"], body["TextType"]) == ("Lucia", "neural", "ssml")
        assert sent.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKID")
        assert KEYS["polly"] not in str(sent.headers)  # the secret signs, it is never sent
    else:
        body = sent.json()
        assert body == {
            "model": "tts-1", "voice": "nova", "response_format": "wav", "speed": 1.0,
            "input": "Hola, gracias por llamar. Le atendemos en el +34 912 345 678. ahora.",
        }  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
async def test_a_refused_text_goes_to_the_next_engine_and_leaves_the_breaker_closed(
    speaking: Callable[..., PromptService], fake: FakeSpeech, kind: str
) -> None:
    service = speaking(kind)
    fake.mode = "400"
    rendered = await service.render("Hola.", language="es", voice={})
    assert rendered.engine == "espeak-ng"
    (engine, reason), *_ = rendered.problems
    assert engine == kind and "request refused" in reason and "HTTP 400" in reason
    assert fake.count(kind) == 1  # a 400 is not retried
    assert service.engines[kind].breaker.state == "closed"  # type: ignore[attr-defined]
    # the same refused prompt is not asked again for ten minutes (not every few seconds)
    refused = service.candidate_keys("Hola.", None, "es", {})[0]
    assert service.pauses.retry_at[refused] - time.monotonic() > 500
    expected = {"google": "does not exist", "azure": "Bad Request",
                "polly": "InvalidSsmlException", "openai": "invalid_value"}  # fmt: skip
    assert expected[kind] in reason


@pytest.mark.parametrize("kind", KINDS)
async def test_a_refused_key_opens_the_breaker_at_once_and_says_so(
    speaking: Callable[..., PromptService], fake: FakeSpeech, kind: str
) -> None:
    service = speaking(kind)
    fake.mode = "401"
    first = await service.render("Hola.", language="es", voice={})
    assert first.engine == "espeak-ng"
    reason = dict(first.problems)[kind]
    assert "authentication refused" in reason and "key_env" in reason
    second = await service.render("Adiós.", language="es", voice={})
    assert second.engine == "espeak-ng"
    assert fake.count(kind) == 1  # the breaker kept the second prompt off the network
    assert "circuit breaker open" in dict(second.problems)[kind]
    for secret in KEYS.values():
        assert secret not in reason


async def test_a_wrong_key_gets_the_provider_s_own_refusal(
    speaking: Callable[..., PromptService], fake: FakeSpeech, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_GOOGLE_KEY", "AIza-wrong")
    service = speaking("google")
    rendered = await service.render("Hola.", language="es", voice={})
    reason = dict(rendered.problems)["google"]
    assert "authentication refused" in reason and "API key not valid" in reason
    assert "AIza-wrong" not in reason


async def test_a_missing_key_is_named_without_a_request(
    speaking: Callable[..., PromptService], fake: FakeSpeech, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FAKE_AZURE_KEY")
    service = speaking("azure")
    rendered = await service.render("Hola.", language="es", voice={})
    assert "environment variable FAKE_AZURE_KEY is not set" in dict(rendered.problems)["azure"]
    assert fake.count("azure") == 0


@pytest.mark.parametrize("kind", ["google", "azure", "openai"])
async def test_429_with_a_long_retry_after_is_not_waited_for(
    speaking: Callable[..., PromptService], fake: FakeSpeech, kind: str
) -> None:
    service = speaking(kind)
    fake.mode, fake.retry_after = "429", "120"
    rendered = await service.render("Hola.", language="es", voice={})
    assert rendered.engine == "espeak-ng"
    reason = dict(rendered.problems)[kind]
    assert "rate limited" in reason and "retry after 120 s" in reason
    assert fake.count(kind) == 1
    breaker = service.engines[kind].breaker  # type: ignore[attr-defined]
    assert breaker.state == "open" and 100 < breaker.seconds_left() <= 120


async def test_429_with_a_short_retry_after_is_retried(
    speaking: Callable[..., PromptService], fake: FakeSpeech
) -> None:
    service = speaking("openai")
    fake.script, fake.retry_after = ["429"], "0"
    rendered = await service.render("Hola.", language="es", voice={})
    assert (rendered.engine, fake.count("openai")) == ("openai", 2)


async def test_polly_throttling_is_a_400_that_is_retried(
    speaking: Callable[..., PromptService], fake: FakeSpeech
) -> None:
    service = speaking("polly")
    fake.script = ["429"]  # Polly says ThrottlingException with HTTP 400
    rendered = await service.render("Hola.", language="es", voice={})
    assert (rendered.engine, fake.count("polly")) == ("polly", 2)


async def test_an_exhausted_quota_is_reported_as_such(
    speaking: Callable[..., PromptService], fake: FakeSpeech
) -> None:
    service = speaking("openai")
    fake.mode = "quota"
    rendered = await service.render("Hola.", language="es", voice={})
    reason = dict(rendered.problems)["openai"]
    assert "quota or billing limit reached" in reason and "insufficient_quota" in reason
    assert fake.count("openai") == 1  # billing: no retry
    assert service.engines["openai"].breaker.state == "open"  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", KINDS)
async def test_500_is_retried_then_the_breaker_opens(
    speaking: Callable[..., PromptService], fake: FakeSpeech, kind: str
) -> None:
    service = speaking(kind)
    fake.mode = "500"
    rendered = await service.render("Hola.", language="es", voice={})
    assert rendered.engine == "espeak-ng"
    assert "provider error (HTTP 500)" in dict(rendered.problems)[kind]
    assert fake.count(kind) == 3  # one try + retries: 2
    assert service.engines[kind].breaker.state == "open"  # type: ignore[attr-defined]
    await service.render("Otra cosa.", language="es", voice={})
    assert fake.count(kind) == 3


async def test_a_slow_provider_meets_the_request_timeout(
    speaking: Callable[..., PromptService], fake: FakeSpeech
) -> None:
    service = speaking("google", timeout="200ms", retries=0)
    fake.mode, fake.delay = "slow", 1.0
    rendered = await service.render("Hola.", language="es", voice={})
    assert rendered.engine == "espeak-ng"
    assert "no answer in time" in dict(rendered.problems)["google"]


async def test_a_redirecting_base_url_is_named_as_the_problem(
    speaking: Callable[..., PromptService], fake: FakeSpeech
) -> None:
    service = speaking("google", base_url=f"{fake.url}/http")
    rendered = await service.render("Hola.", language="es", voice={})
    reason = dict(rendered.problems)["google"]
    assert reason == (
        "google: wrong base_url (HTTP 301): redirected to https://tts.example/v1/text:synthesize"
    )
    assert service.engines["google"].breaker.state == "open"  # type: ignore[attr-defined]


async def test_the_flow_s_voice_and_rate_pick_the_request_and_the_cache_key(
    speaking: Callable[..., PromptService], fake: FakeSpeech
) -> None:
    service = speaking("google")
    plain = await service.render("Hola.", language="es", voice={})
    named = await service.render(
        "Hola.", language="es", voice={"engine": "google", "voice": "es-ES-Wavenet-B", "rate": 1.2}
    )
    assert plain.key != named.key  # another voice, another file: nothing stale is played
    assert fake.seen[-1].json()["voice"]["name"] == "es-ES-Wavenet-B"
    assert fake.seen[-1].json()["audioConfig"]["speakingRate"] == 1.2
    # an English text of a Spanish flow: the flow's Spanish voice does not fit it
    english = await service.render(
        "Hello.", language="en", voice={"engine": "google", "voice": "es-ES-Wavenet-B"}
    )
    assert english.engine == "google"
    assert fake.seen[-1].json()["voice"] == {"languageCode": "en-US", "name": "en-US-Neural2-F"}


async def test_a_language_without_a_voice_goes_to_the_next_engine(
    speaking: Callable[..., PromptService], fake: FakeSpeech
) -> None:
    service = speaking("polly")
    rendered = await service.render("Bonjour.", language="fr", voice={})
    assert rendered.engine == "espeak-ng" and fake.count("polly") == 0


@pytest.mark.parametrize(
    ("providers", "message"),
    [
        ({"g": {"kind": "watson"}}, "tts.providers.g.kind: 'watson' is not one of"),
        ({"a": {"kind": "azure"}}, "tts.providers.a: azure needs a region"),
        ({"g": {"kind": "google", "rate": 9}}, "tts.providers.g.rate: expected a number"),
        ({"g": {"kind": "google", "voice": "x"}}, "unknown setting 'tts.providers.g.voice'"),
        ({"gtts": {"kind": "google"}}, "tts.providers.gtts: the name of a built-in engine"),
        ({"g": {"kind": "openai", "base_url": "ftp://x"}}, "is not an http(s) URL"),
    ],
)
def test_bad_provider_settings_fail_start_up_by_name(
    make_settings: Callable[..., Settings], providers: dict[str, Any], message: str
) -> None:
    settings = make_settings(**{"tts.providers": providers})
    with pytest.raises(ConfigError, match=re.escape(message)):
        build_engines(settings.tts)


def test_an_unknown_engine_in_the_chain_names_the_declared_providers(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(
        **{"tts.engines": ["gogle", "espeak-ng"], "tts.providers": {"google": {"kind": "google"}}}
    )
    with pytest.raises(ConfigError, match=r"unknown engine 'gogle'.*google"):
        build_engines(settings.tts)


async def test_a_wrong_aws_secret_fails_the_signature_check(
    speaking: Callable[..., PromptService], fake: FakeSpeech, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_POLLY_SECRET", "not-the-secret")
    service = speaking("polly")
    rendered = await service.render("Hola.", language="es", voice={})
    reason = dict(rendered.problems)["polly"]
    assert "authentication refused" in reason and "InvalidSignatureException" in reason


def test_provider_errors_read_like_what_to_fix() -> None:
    exc = ProviderError("google", "quota", "RESOURCE_EXHAUSTED: per day", status=429)
    assert str(exc) == (
        "google: quota or billing limit reached (HTTP 429): RESOURCE_EXHAUSTED: per day"
    )


async def test_prompts_build_renders_a_flow_that_names_a_provider_voice(
    make_settings: Callable[..., Settings], fake: FakeSpeech, tmp_path
) -> None:
    from agi_callbot.flow.loader import load_flow
    from agi_callbot.flow.prompts import flow_prompts
    from agi_callbot.tts.build import build

    flow = tmp_path / "aviso.yaml"
    flow.write_text(
        "flow: aviso\nlanguage: es\nvoice: {engine: google, voice: es-ES-Neural2-A}\n"
        "start: hola\nblocks:\n  hola:\n    say: {es: 'Hola.', en: 'Hello.'}\n    next: fin\n"
        "  fin:\n    hangup: {message: 'Adiós, ${caller_name}.'}\n",
        encoding="utf-8",
    )
    settings = make_settings(**{"tts.providers": {"google": fake.provider("google")}})
    service = PromptService.from_settings(settings)
    fake.mode, fake.delay = "slow", 0.3  # build waits for the provider: no live budget
    summary = await build(service, flow_prompts(load_flow(flow)), ["sln16", "sln"])
    assert (summary.misses, summary.failures, summary.dynamic) == (2, 0, 1)
    voices = sorted(s.json()["voice"]["name"] for s in fake.seen)
    assert voices == ["en-US-Neural2-F", "es-ES-Neural2-A"]
    engines = {e.meta.get("engine") for e in service.cache.entries()}
    assert engines == {"google"}


@pytest.mark.parametrize(
    ("kind", "marked"),
    [("azure", '<prosody rate="1.2">'), ("polly", '<prosody rate="120%">'), ("openai", None)],
)
async def test_the_speaking_rate_in_each_provider_s_own_terms(
    speaking: Callable[..., PromptService], fake: FakeSpeech, kind: str, marked: str | None
) -> None:
    service = speaking(kind, rate=1.2)
    rendered = await service.render("Hola.", language="es", voice={})
    assert rendered.engine == kind
    sent = fake.seen[-1]
    if kind == "azure":
        assert marked is not None and marked in sent.body.decode()
    elif kind == "polly":
        assert marked is not None and marked in sent.json()["Text"]
    else:
        assert sent.json()["speed"] == 1.2


async def test_an_openai_compatible_server_may_be_asked_without_a_key(
    speaking: Callable[..., PromptService], fake: FakeSpeech, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FAKE_OPENAI_KEY")  # a local Piper/Kokoro server takes none
    service = speaking("openai")
    await service.render("Hola.", language="es", voice={})
    assert fake.count("openai") == 1 and "Authorization" not in fake.seen[-1].headers


@pytest.mark.parametrize("kind", ["google", "polly", "openai"])
async def test_8khz_files_of_a_neural_prompt_are_anti_aliased(
    speaking: Callable[..., PromptService],
    fake: FakeSpeech,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    """A 6 kHz tone (above 8 kHz's 4 kHz Nyquist) must vanish, not fold back to 2 kHz."""
    monkeypatch.setitem(TONES, kind, 6000.0)
    service = speaking(kind)
    rendered = await service.render("Hola.", language="es", voice={}, ext="sln16")
    wide = samples(service.cache.path(rendered.key, "sln16").read_bytes())
    narrow_path = await service.derive(rendered.key, "sln")
    assert narrow_path is not None
    narrow = samples(narrow_path.read_bytes())
    assert len(narrow) == pytest.approx(len(wide) / 2, abs=2)
    assert rms(wide) > 5000  # the tone is there at 16 kHz
    assert rms(narrow) < rms(wide) / 30  # and filtered out at 8 kHz
