"""The dashboard's figures on a whole node after real calls over FastAGI."""

from __future__ import annotations

import aiohttp

from agi_callbot.app import App
from agi_callbot.console.charts import bars, columns
from tests.console.test_calls import (
    caller,
    node,  # noqa: F401 - the fixture
)


async def test_figures_after_two_calls(node: App) -> None:  # noqa: F811
    host, port = node.http.addresses[0][:2]
    headers = {"Authorization": f"Bearer {node.console.guard.token}", "Accept-Language": "en"}
    for digits in ("wait:3,1", "wait:3,2,wait:3,2"):  # a transfer; the SMS link
        await caller(digits).call("127.0.0.1", node.server.port)
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.get(f"http://{host}:{port}/api/dashboard") as r,
    ):
        d = await r.json()
    assert d["calls_now"] == 0 and d["calls_last_hour"] == 2
    assert sum(d["outcomes"].values()) == 2 and set(d["outcomes"]) == {
        "COMPLETED", "TRANSFERRED", "HANGUP", "NO_AGENT", "FAILED",
    }  # fmt: skip
    assert sum(d["transfers"].values()) == 1
    assert sum(d["outbox"].values()) >= 3  # the SMS, the email, the WhatsApp surveys
    assert d["ami"]["enabled"] is False
    assert d["prompt_cache"]["hits"] + d["prompt_cache"]["misses"] > 0
    assert d["charts"]["per_minute"].count("<rect") == 60
    assert "Completed: " in d["charts"]["outcomes"] or "completed: " in d["charts"]["outcomes"]


def test_charts_scale_and_escape():
    svg = columns([0, 3, 7], ["a", "b", "<c>"], title="t & u", every=1)
    assert "&lt;c&gt;" in svg and "t &amp; u" in svg and ">10<" in svg  # axis rounded up
    assert bars([], title="empty").startswith("<svg")
    assert 'width="1.5"' in bars([("none", 0, "#000")], title="x")
