"""``doctor`` on the TTS providers: a refused key, a spent quota, a missing variable, the
running node's open breaker — each one row an admin can act on."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from aiohttp import web
from prometheus_client import generate_latest
from speech_fakes import FakeSpeech

from agi_callbot import metrics
from agi_callbot.cli.doctor.node import check_flows, check_tts
from agi_callbot.cli.doctor.report import FAIL, OK, SKIP, WARN
from agi_callbot.config import Settings


def rows(checks) -> dict[str, tuple[str, str]]:
    return {c.name: (c.status, c.detail) for c in checks}


async def test_each_provider_gets_a_row_saying_what_to_fix(
    make_settings: Callable[..., Settings], fake: FakeSpeech, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FAKE_POLLY_KEY_ID")
    monkeypatch.setenv("FAKE_AZURE_KEY", "wrong-key")
    settings = make_settings(
        **{
            "tts.engines": ["google", "azure", "espeak-ng"],
            "tts.providers": {
                "google": fake.provider("google"),
                "azure": fake.provider("azure"),
                "polly": fake.provider("polly"),
                "openai": fake.provider("openai"),
            },
            "http.enabled": False,
        }
    )
    fake.script = ["ok", "ok"]  # google's two voices
    fake.mode = "quota"  # then everybody is out of quota
    got = rows(await check_tts(settings))
    assert got["tts google"][0] == OK
    assert "es-ES-Neural2-A" in got["tts google"][1] and "en-US-Neural2-F" in got["tts google"][1]
    status, detail = got["tts azure"]
    assert status == FAIL and "authentication refused" in detail and "HTTP 401" in detail
    assert "wrong-key" not in detail
    status, detail = got["tts polly"]  # unused too
    assert status == WARN and "FAKE_POLLY_KEY_ID is not set" in detail
    status, detail = got["tts openai"]  # neither in the chain nor named by a flow: a warning
    assert status == WARN and "quota or billing limit reached" in detail
    assert "not in tts.engines" in detail
    assert fake.count("openai") == 1  # doctor does not retry


async def test_a_rate_limit_is_a_warning_and_the_probe_can_be_skipped(
    make_settings: Callable[..., Settings], fake: FakeSpeech
) -> None:
    settings = make_settings(
        **{"tts.providers": {"google": fake.provider("google")}, "http.enabled": False}
    )
    fake.mode, fake.retry_after = "429", "30"
    assert rows(await check_tts(settings))["tts google"][0] == WARN
    seen = fake.count("google")
    skipped = rows(await check_tts(settings, probe=False))
    assert skipped["tts providers"][0] == SKIP and fake.count("google") == seen


async def test_the_running_node_s_open_breaker_is_shown(
    make_settings: Callable[..., Settings], fake: FakeSpeech
) -> None:
    async def scrape(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(metrics.REGISTRY), content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        settings = make_settings(**{"tts.providers": {"doc-google": fake.provider("google")}})
        settings = dataclasses.replace(settings, http=dataclasses.replace(settings.http, port=port))
        metrics.tts_breaker_state.labels("doc-google").set(2)
        got = rows(await check_tts(settings, probe=False))
        status, detail = got["tts doc-google breaker"]
        assert status == WARN and "circuit breaker open" in detail
        metrics.tts_breaker_state.labels("doc-google").set(0)
        assert rows(await check_tts(settings, probe=False))["tts doc-google breaker"][0] == OK
    finally:
        await runner.cleanup()


async def test_a_flow_naming_an_undeclared_engine_is_a_failure(
    make_settings: Callable[..., Settings], tmp_path
) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "aviso.yaml").write_text(
        "flow: aviso\nlanguage: es\nvoice: {engine: gogle}\nstart: hola\nblocks:\n"
        "  hola:\n    say: Hola.\n    voice: {engine: files}\n    next: fin\n"
        "  fin:\n    hangup:\n",
        encoding="utf-8",
    )
    settings = make_settings(**{"tts.providers": {"google": {"kind": "google"}}})
    flows_check, refs = check_flows(settings)
    assert flows_check.status == OK
    got = rows(await check_tts(settings, refs, probe=False))
    status, detail = got["tts engines"]
    assert status == FAIL and "'gogle' in aviso" in detail and "google" in detail
    assert "'files'" not in detail
