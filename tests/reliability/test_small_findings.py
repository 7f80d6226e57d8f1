"""Issue 14.9, the smaller findings.

- Refusing ``CALLBOT_RESULT`` logged "could not set CALLBOT_STATUS" with 40 characters of
  caller data: now the line names the variable that failed, and no value.
- Gateways never called ``register_secret`` although ``log.py`` said so: every secret
  read through the settings is registered, so a log line carrying it is redacted.
- The credential pattern turned ``'…passwd': letters`` (prose, an error message) into
  ``'…passwd': ***``: a quoted key now needs a quoted value to be redacted.
- HEAD for every key × format made the node convert files for anyone: conversions to a
  format other than the delivered one are rate-limited (503 + Retry-After beyond).
"""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from loopback_provider import recorder

from agi_callbot.config import load_settings
from agi_callbot.flow.loader import FlowLibrary
from agi_callbot.gateways import build_gateways
from agi_callbot.log import forget_secrets, redact
from agi_callbot.router import pin
from agi_callbot.sim.simulate import Scenario, simulate
from agi_callbot.tts import http as prompt_http
from agi_callbot.tts.service import PromptService

CALLER_DATA = "ZZcallerZZ"


async def test_a_refused_result_is_named_without_its_value(tmp_path, caplog) -> None:
    caplog.set_level(logging.INFO)
    async with recorder() as rec:
        rec.answer = {"r": CALLER_DATA * 900}  # longer than an AGI line may be
        folder = tmp_path / "flows"
        folder.mkdir()
        (folder / "t.yaml").write_text(
            "flow: t\nlanguage: en\nblocks:\n"
            "  look:\n    actions:\n"
            f"      - webhook: {{url: '{rec.url}/r', method: GET, save_as: crm, timeout: 2s}}\n"
            "    next: out\n"
            "  out: {return: {result: '${crm.r}'}}\n"
        )
        settings = load_settings(
            None,
            overrides={"data_dir": str(tmp_path / "var"), "flows_dir": str(folder)},
            environ={},
        )
        flow, subflows = pin(FlowLibrary(folder, settings=settings), "t")
        transcript = await simulate(
            flow, Scenario(), settings, subflows=subflows, prompts_dir=tmp_path / "p"
        )
    assert transcript.variables["CALLBOT_STATUS"] == "COMPLETED"
    lines = [r.getMessage() for r in caplog.records if "could not set" in r.getMessage()]
    assert len(lines) == 1 and "CALLBOT_RESULT" in lines[0], lines
    assert "CALLBOT_STATUS" not in lines[0]
    assert CALLER_DATA not in caplog.text


def test_secrets_read_for_gateways_are_registered(tmp_path, monkeypatch) -> None:
    forget_secrets()
    token = "wa-Tok3n-that-is-long-enough"
    monkeypatch.setenv("WA_TOKEN", token)
    settings = load_settings(
        None,
        overrides={
            "data_dir": str(tmp_path),
            "gateways": {
                "whatsapp": {"provider": "meta", "phone_number_id": "7", "token_env": "WA_TOKEN"}
            },
        },
        environ={},
    )
    build_gateways(settings)
    assert token not in redact(f"provider said: unknown key {token} (x)")
    forget_secrets()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "setting 'gateways.email.passwd': letters are never read from the settings",
            "setting 'gateways.email.passwd': letters are never read from the settings",
        ),
        ("{'passwd': 'hunter2'}", "{'passwd': '***'}"),
        ('{"token": "abc123"}', '{"token": "***"}'),
        ("password=hunter2&x=1", "password=***&x=1"),
        ("passwd: hunter2", "passwd: ***"),
        ("Authorization: Bearer abcdef123456", "Authorization: Bearer ***"),
    ],
)
def test_redaction_hides_values_not_prose(text, expected) -> None:
    assert redact(text) == expected


async def test_conversions_for_anyone_are_rate_limited(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(prompt_http, "CONVERSIONS_PER_MINUTE", 2)
    settings = load_settings(
        None,
        overrides={
            "data_dir": str(tmp_path),
            "prompts.delivery": "http",
            "prompts.base_url": "http://127.0.0.1:8090/prompts",
        },
        environ={},
    )
    service = PromptService.from_settings(settings)
    app = web.Application()
    app.add_routes(prompt_http.routes(service))
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}/prompts"
    try:
        url = await service.resolve("Para ventas pulse uno.", language="es")
        key = url.rsplit("/", 1)[1].split(".")[0]
        renders = service.cache.renders
        statuses = []
        async with aiohttp.ClientSession() as session:
            for ext in ("ulaw", "alaw", "sln", "wav", "wav16"):
                async with session.head(f"{base}/{key}.{ext}") as response:
                    statuses.append(response.status)
                    if response.status == 503:
                        assert int(response.headers["Retry-After"]) > 0
            async with session.get(f"{base}/{key}.sln16") as response:
                assert response.status == 200  # the delivered format: always served
        assert statuses == [200, 200, 503, 503, 503]
        assert service.cache.renders - renders == 2
    finally:
        await runner.cleanup()
        await service.aclose()
