"""The dashboard: what the node is doing and what it did, from what it already keeps.

- calls now (the calls in progress), calls per minute over the last hour and their
  outcomes over the last 24 hours (the call records);
- transfers over the last 24 hours by outcome (the records) and how long callers
  waited in each team's queue (median and 90th percentile of the records' ``wait_s``);
  with AMI, callers waiting and the longest wait per queue now;
- the outbox: messages per status, the oldest still waiting;
- prompt cache hits and misses since the node started (its metrics).

``GET /api/dashboard`` answers the figures and the charts (SVG); the page refreshes
them every 15 seconds.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import math
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from aiohttp import web

from agi_callbot import metrics
from agi_callbot.console.calls import active_calls
from agi_callbot.console.charts import bars, columns, pairs
from agi_callbot.console.pages import render
from agi_callbot.console.queues import queue_board
from agi_callbot.console.state import CONSOLE, Console
from agi_callbot.console.words import language, translator

OUTCOMES = (
    ("COMPLETED", "#1d7a3a"),
    ("TRANSFERRED", "#1f5fbf"),
    ("HANGUP", "#c07a00"),
    ("NO_AGENT", "#8a5cc2"),
    ("FAILED", "#b3261e"),
)
OUTBOX = (
    ("queued", "#1f5fbf"),
    ("sending", "#3b82c4"),
    ("sent", "#1d7a3a"),
    ("failed", "#b3261e"),
    ("dead", "#7a1c16"),
    ("skipped", "#c07a00"),
)
#: records read for the last 24 hours' outcomes and transfers
MAX_RECORDS = 20_000


def routes(console: Console) -> list[web.RouteDef]:
    return [
        web.get("/dashboard", console.guard.page(dashboard_page)),
        web.get("/api/dashboard", console.guard.api(dashboard_api)),
    ]


def _records(console: Console, now: float) -> dict[str, Any]:
    """Calls per minute (last 60 min), outcomes and transfers (last 24 h)."""
    per_minute = [0] * 60
    outcomes: Counter[str] = Counter()
    transfers: Counter[str] = Counter()
    waits: dict[str, list[float]] = {}
    path = console.settings.calls_db
    if not path.is_file():
        return {
            "per_minute": per_minute,
            "outcomes": outcomes,
            "transfers": transfers,
            "waits": waits,
        }
    minute0 = (int(now) // 60 - 59) * 60
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2.0)
    try:
        for started, count in db.execute(
            "SELECT CAST(started / 60 AS INTEGER) * 60, COUNT(*) FROM calls"
            " WHERE started >= ? GROUP BY 1",
            (minute0,),
        ):
            index = (int(started) - minute0) // 60
            if 0 <= index < 60:
                per_minute[index] = count
        for status, count in db.execute(
            "SELECT status, COUNT(*) FROM calls WHERE started >= ? GROUP BY status",
            (now - 86400,),
        ):
            outcomes[status] = count
        for (record,) in db.execute(
            "SELECT record FROM calls WHERE started >= ? AND record LIKE '%\"outcome\"%'"
            " ORDER BY started DESC LIMIT ?",
            (now - 86400, MAX_RECORDS),
        ):
            for transfer in json.loads(record).get("transfers", []):
                transfers[str(transfer.get("outcome", "?"))] += 1
                if isinstance(transfer.get("wait_s"), int | float):
                    team = str(transfer.get("target", "?"))
                    waits.setdefault(team, []).append(float(transfer["wait_s"]))
    finally:
        db.close()
    return {"per_minute": per_minute, "outcomes": outcomes, "transfers": transfers, "waits": waits}


def transfer_word(t: Callable[..., str], status: str) -> str:
    """How a transfer ended, in the page's language (Asterisk's own word if it has none)."""
    said = t("tr_" + status)
    return status if said == "tr_" + status else said


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` 0.5 = median, 0.9 = p90) of ``values``."""
    ordered = sorted(values)
    rank = max(math.ceil(share * len(ordered)), 1)
    return ordered[rank - 1]


def wait_figures(waits: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """Per team: transfers with a wait, median and p90 wait in seconds (one decimal)."""
    return {
        team: {
            "transfers": len(values),
            "median_s": round(percentile(values, 0.5), 1),
            "p90_s": round(percentile(values, 0.9), 1),
        }
        for team, values in sorted(waits.items())
        if values
    }


def _prompt_cache() -> dict[str, float]:
    hits = metrics.REGISTRY.get_sample_value("callbot_prompt_cache_hits_total") or 0.0
    misses = metrics.REGISTRY.get_sample_value("callbot_prompt_cache_misses_total") or 0.0
    total = hits + misses
    return {"hits": hits, "misses": misses, "ratio": round(hits / total, 3) if total else None}


async def figures(console: Console, lang: str) -> dict[str, Any]:
    t = translator(lang)
    now = time.time()
    try:
        kept = await asyncio.to_thread(_records, console, now)
    except sqlite3.Error:
        kept = {"per_minute": [0] * 60, "outcomes": Counter(), "transfers": Counter(), "waits": {}}
    active = active_calls(console)
    outbox = getattr(console.services, "outbox", None)
    counts: dict[str, int] = {}
    oldest_s = None
    if outbox is not None:
        counts = await outbox.counts()
        oldest = await outbox.store.oldest_waiting()
        oldest_s = round(now - oldest) if oldest is not None else None
    queues = queue_board(console)
    minutes = [
        datetime.datetime.fromtimestamp((int(now) // 60 - 59 + i) * 60).strftime("%H:%M")
        for i in range(60)
    ]
    outcomes = kept["outcomes"]
    waits = wait_figures(kept["waits"])
    return {
        "calls_now": len(active) if active is not None else None,
        "calls_last_hour": sum(kept["per_minute"]),
        "outcomes": {name: outcomes.get(name, 0) for name, _ in OUTCOMES},
        "transfers": dict(kept["transfers"]),
        "transfer_waits": waits,
        "outbox": {name: counts.get(name, 0) for name, _ in OUTBOX} if outbox else None,
        "outbox_depth": counts.get("queued", 0) + counts.get("sending", 0),
        "outbox_oldest_s": oldest_s,
        "prompt_cache": _prompt_cache(),
        "queues": {
            name: {"callers": q["callers"], "longest_wait_s": q["longest_wait_s"]}
            for name, q in queues["queues"].items()
        },
        "ami": queues["ami"],
        "charts": {
            "per_minute": columns(
                kept["per_minute"], minutes, title=t("calls_per_minute"), every=10
            ),
            "outcomes": bars(
                [(t("out_" + name), outcomes.get(name, 0), color) for name, color in OUTCOMES],
                title=t("outcomes_24h"),
            ),
            "transfers": bars(
                [
                    (transfer_word(t, name), count, "#1f5fbf")
                    for name, count in sorted(kept["transfers"].items())
                ],
                title=t("transfers_24h"),
            ),
            "transfer_waits": pairs(
                [(team, w["median_s"], w["p90_s"]) for team, w in waits.items()],
                title=t("transfer_waits"),
                names=(t("median"), "p90"),
                unit=" s",
            ),
            "outbox": bars(
                [(t("ms_" + name), counts.get(name, 0), color) for name, color in OUTBOX],
                title=t("outbox"),
            )
            if outbox
            else "",
        },
    }


async def dashboard_api(request: web.Request) -> web.Response:
    return web.json_response(await figures(request.app[CONSOLE], language(request)))


async def dashboard_page(request: web.Request) -> web.Response:
    data = await figures(request.app[CONSOLE], language(request))
    return render(request, "dashboard.html", d=data)
