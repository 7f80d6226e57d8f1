"""Issue 14.4: what anyone can send does not flood the log.

Found: each malformed HTTP request logged a full aiohttp traceback (1,000 requests →
718 KB in 0.8 s); each unsigned provider callback one WARNING, unlimited. Now: one
short line per cause, then a "suppressed N" summary per window; same for the FastAGI
listener's bad sessions.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time

import pytest
from aiohttp import web

from agi_callbot import log_limit
from agi_callbot.config import Listen, load_settings
from agi_callbot.gateways.callbacks import routes as callback_routes
from agi_callbot.transport.fastagi import FastAGIServer
from agi_callbot.web import build_app, start_http

FLOOD = 300
#: the window during the tests (10 s in a node): short, so the summaries show up
WINDOW = 1.0


def most_lines(started: float, causes: int) -> int:
    """What the limiter may write in the time the flood took: per cause, one line per
    window and one summary (however slow a loaded machine made the flood)."""
    return causes * (2 * int((time.monotonic() - started) / WINDOW) + 3)


@pytest.fixture(autouse=True)
def short_window(monkeypatch):
    monkeypatch.setattr(log_limit, "WINDOW_S", WINDOW)
    log_limit.reset()


def accounts_for(lines: list[str], events: int) -> bool:
    """Every event is a line or counted in a "suppressed N" (a summary line at the end of
    a window stands for no event of its own)."""
    suppressed = sum(int(n) for line in lines for n in re.findall(r"suppressed (\d+)", line))
    return events - len(lines) <= suppressed <= events


def text_of(caplog) -> str:
    return "\n".join(caplog.handler.format(r) for r in caplog.records)


async def serve(app: web.Application):
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, runner.addresses[0][1]


async def raw(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    writer.write_eof()
    try:
        return await asyncio.wait_for(reader.read(), 5)
    except ConnectionResetError:
        return b""
    finally:
        writer.close()


def test_the_limiter_logs_once_per_cause_per_window() -> None:
    clock = [100.0]
    records: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    logger = logging.getLogger("test.limit")
    logger.addHandler(Catch())
    logger.propagate = False
    limiter = log_limit.Limiter(logger, window=10.0, clock=lambda: clock[0])
    for _ in range(1000):
        limiter.warning("bad-sig", "callback refused: bad signature")
    limiter.warning("other", "callback refused: not configured")
    clock[0] += 11
    limiter.warning("bad-sig", "callback refused: bad signature")
    assert records == [
        "callback refused: bad signature",
        "callback refused: not configured",
        "callback refused: bad signature (suppressed 999 more in the last 11s)",
    ]


async def test_malformed_http_requests_log_one_short_line(tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    settings = load_settings(
        None, overrides={"data_dir": str(tmp_path), "http": {"port": 0}}, environ={}
    )
    runner = await start_http(settings, build_app(settings))
    port = runner.addresses[0][1]
    try:
        garbage = [
            b"\x16\x03\x01\x02\x00\x01\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nBad\x00: y\r\n\r\n",
        ]
        started = time.monotonic()
        for n in range(FLOOD):
            await raw(port, garbage[n % 2])
        await asyncio.sleep(WINDOW + 0.1)
        await raw(port, garbage[0])  # after the window: the summary
    finally:
        await runner.cleanup()
    text = text_of(caplog)
    assert "Traceback" not in text
    malformed = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    assert len(malformed) <= min(most_lines(started, 2), FLOOD // 5), malformed
    assert accounts_for(malformed, FLOOD + 1), text
    assert all(len(r.getMessage()) < 200 and "\n" not in r.getMessage() for r in caplog.records)


async def test_unsigned_callbacks_are_rate_limited(tmp_path, caplog, monkeypatch) -> None:
    import aiohttp

    monkeypatch.setenv("TW_TOKEN", "tw")
    caplog.set_level(logging.DEBUG)
    settings = load_settings(
        None,
        overrides={
            "data_dir": str(tmp_path),
            "gateways": {
                "sms": {
                    "provider": "twilio",
                    "account_sid": "AC1",
                    "auth_token_env": "TW_TOKEN",
                    "from": "+34910000000",
                }
            },
        },
        environ={},
    )
    app = web.Application()
    app.add_routes(callback_routes(lambda *a: None, settings))
    runner, port = await serve(app)
    try:
        async with aiohttp.ClientSession() as session:
            started = time.monotonic()
            for _ in range(FLOOD):
                async with session.post(
                    f"http://127.0.0.1:{port}/callbacks/twilio", data={"MessageSid": "x"}
                ) as r:
                    assert r.status == 403
            await asyncio.sleep(WINDOW + 0.1)
            async with session.post(f"http://127.0.0.1:{port}/callbacks/twilio", data={}) as r:
                assert r.status == 403
    finally:
        await runner.cleanup()
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert 1 <= len(refused) <= min(most_lines(started, 1), FLOOD // 5), refused
    assert accounts_for(refused, FLOOD + 1), refused


async def test_bad_fastagi_sessions_are_rate_limited(caplog) -> None:
    caplog.set_level(logging.DEBUG)

    async def handler(channel):  # never reached: no session has a valid environment
        return None

    server = FastAGIServer(handler, Listen(port=0, env_timeout=2.0))
    await server.start()
    try:
        started = time.monotonic()
        for n in range(FLOOD):
            await raw(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" if n % 2 else b"x")
        await asyncio.sleep(WINDOW + 0.1)
        await raw(server.port, b"x")
    finally:
        await server.shutdown(1)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("agi_callbot")]
    assert len(lines) <= min(most_lines(started, 2) + 1, FLOOD // 5), lines[:20]
    assert accounts_for(lines, FLOOD + 1), lines
