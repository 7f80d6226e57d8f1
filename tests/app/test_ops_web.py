"""The HTTP listener on a real loopback port: health, readiness, metrics scrape, mounted routes."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from agi_callbot import metrics
from agi_callbot import web as cbweb
from agi_callbot.config import Settings, load_settings
from agi_callbot.errors import ConfigError
from agi_callbot.tts.service import PromptService

Serve = Callable[..., Awaitable[str]]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        None,
        overrides={
            "http.port": 0,
            "data_dir": str(tmp_path / "var"),
            "flows_dir": str(tmp_path / "flows"),
            "moh_dir": str(tmp_path / "moh"),
            "tts.recordings_dir": str(tmp_path / "recordings"),
        },
        environ={},
    )


@pytest.fixture
async def serve(settings: Settings) -> AsyncIterator[Serve]:
    """Start build_app(...) with start_http on a free port; yields a base-URL factory."""
    runners: list[web.AppRunner] = []

    async def start(**kwargs: Any) -> str:
        runner = await cbweb.start_http(settings, cbweb.build_app(settings, **kwargs))
        runners.append(runner)
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


async def get(url: str, **headers: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), await resp.text()


async def test_healthz_answers_with_version(serve: Serve) -> None:
    base = await serve()
    async with aiohttp.ClientSession() as session, session.get(base + "/healthz") as resp:
        assert resp.status == 200
        body = await resp.json()
    assert body["status"] == "ok" and body["version"]


async def test_readyz_reports_checks_and_503_when_not_ready(serve: Serve) -> None:
    state = {"ok": True}

    async def ready() -> tuple[bool, dict[str, str]]:
        await asyncio.sleep(0)
        return state["ok"], {"flows": "3 loaded", "outbox": "ok" if state["ok"] else "locked"}

    base = await serve(ready=ready)
    async with aiohttp.ClientSession() as session:
        async with session.get(base + "/readyz") as resp:
            assert resp.status == 200
            assert (await resp.json())["checks"]["flows"] == "3 loaded"
        state["ok"] = False
        async with session.get(base + "/readyz") as resp:
            assert resp.status == 503
            body = await resp.json()
    assert body == {"status": "not ready", "checks": {"flows": "3 loaded", "outbox": "locked"}}


async def test_readyz_turns_a_crashing_or_hanging_check_into_503(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crashing() -> tuple[bool, dict[str, str]]:
        raise OSError("disk gone")

    async def hanging() -> tuple[bool, dict[str, str]]:
        await asyncio.sleep(60)
        return True, {}

    monkeypatch.setattr(cbweb, "READY_TIMEOUT_S", 0.05)
    status, _, text = await get(await serve(ready=crashing) + "/readyz")
    assert status == 503 and "OSError" in text and "disk gone" not in text
    status, _, text = await get(await serve(ready=hanging) + "/readyz")
    assert status == 503 and "longer than" in text


async def test_metrics_scrape_runs_collectors_and_parses(serve: Serve) -> None:
    def ami() -> None:
        metrics.queue_available.labels(team="soporte").set(4)

    remove = metrics.add_collector(ami)
    try:
        with metrics.track_call("scrape-test") as call:
            call.outcome = "COMPLETED"
        status, ctype, text = await get(await serve() + "/metrics")
    finally:
        remove()
    assert status == 200 and ctype.startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("callbot_queue_available", (("team", "soporte"),))] == 4
    key = ("callbot_calls_total", (("flow", "scrape-test"), ("outcome", "COMPLETED")))
    assert samples[key] >= 1


async def test_metrics_speaks_openmetrics_when_asked(serve: Serve) -> None:
    status, ctype, text = await get(
        await serve() + "/metrics", Accept="application/openmetrics-text; version=1.0.0"
    )
    assert status == 200 and ctype.startswith("application/openmetrics-text")
    assert text.rstrip().endswith("# EOF")


async def test_prompt_routes_are_mounted_with_a_prompt_service(
    serve: Serve, settings: Settings
) -> None:
    prompts = PromptService.from_settings(settings)
    try:
        base = await serve(prompts=prompts)
        status, _, text = await get(f"{base}/prompts/{'0' * 64}.sln16")
    finally:
        await prompts.aclose()
    assert status == 404 and "no such prompt" in text
    base = await serve()
    status, _, text = await get(f"{base}/prompts/{'0' * 64}.sln16")
    assert status == 404 and "no such prompt" not in text


async def test_callback_routes_only_when_an_outbox_receives_them(serve: Serve) -> None:
    """Without an outbox there is nothing to update: no callback routes at all."""
    base = await serve()
    async with (
        aiohttp.ClientSession() as session,
        session.post(base + "/callbacks/twilio", data=b"x") as resp,
    ):
        assert resp.status == 404


async def test_port_in_use_is_a_clear_config_error(settings: Settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = load_settings(None, overrides={"http.port": port}, environ={})
        with pytest.raises(ConfigError, match=f"cannot listen for HTTP on 127.0.0.1:{port}"):
            await cbweb.start_http(busy, cbweb.build_app(settings))


async def test_the_gateways_callback_routes_are_mounted_and_verify_requests(
    serve: Serve,
) -> None:
    """The real module: an unsigned Twilio callback is refused, not accepted or unrouted."""

    async def on_status(provider: str, provider_id: str, status: str, code: str | None) -> None:
        raise AssertionError("an unsigned callback must not reach the outbox")

    base = await serve(outbox=on_status)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            base + "/callbacks/twilio", data={"MessageSid": "SM1", "MessageStatus": "delivered"}
        ) as resp,
    ):
        assert resp.status == 403
