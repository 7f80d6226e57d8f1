"""Calls: the ones in progress (live) and the ones that ended (the call records).

``GET /api/calls?live=1``: uniqueid, flow and version, current block, caller (masked
as in the logs), start time; ``GET /api/calls/stream`` pushes the same list as it
changes (server-sent events: a snapshot, then what was added, changed or removed).
``GET /api/calls?flow=&status=&caller=&date=YYYY-MM-DD&limit=``: recent calls from the
records; ``GET /api/calls/{uniqueid}``: one call's blocks, digits, transfers and the
messages it queued with their delivery state now.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import re
import sqlite3
import time
from typing import Any

from aiohttp import web

from agi_callbot.console.live import Feed
from agi_callbot.console.pages import render
from agi_callbot.console.state import CONSOLE, Console
from agi_callbot.console.teams import boot_json
from agi_callbot.outbox.model import shown_to
from agi_callbot.phone import show_number

STATUSES = ("COMPLETED", "TRANSFERRED", "HANGUP", "NO_AGENT", "FAILED")
MAX_LIMIT = 500
UNIQUEID = "{uniqueid:[A-Za-z0-9._-]+}"


def routes(console: Console) -> list[web.RouteDef]:
    api, page = console.guard.api, console.guard.page
    feed = calls_feed(console)
    return [
        web.get("/calls", page(calls_page)),
        web.get(f"/calls/{UNIQUEID}", page(call_page)),
        web.get("/api/calls", api(list_calls)),
        web.get("/api/calls/stream", api(feed.stream)),
        web.get(f"/api/calls/{UNIQUEID}", api(get_call)),
    ]


def active_calls(console: Console) -> Any:
    return getattr(console.services, "active", None)


def live_calls(console: Console) -> list[dict[str, Any]]:
    active = active_calls(console)
    return active.snapshot() if active is not None else []


def calls_feed(console: Console) -> Feed:
    """A snapshot, then per change only the calls added, changed (block) or removed.

    Each look compares ``{id: block}`` with what was sent: a dictionary of ints and
    strings, so 1000 calls in progress cost the console a fraction of a millisecond.
    """
    sent: dict[int, str] = {}

    async def snapshot() -> dict[str, Any]:
        calls = live_calls(console)
        return {"now": time.time(), "calls": calls, "kept": active_calls(console) is not None}

    async def changes() -> list[tuple[str, Any]]:
        active = active_calls(console)
        if active is None:
            return []
        now = active.blocks()
        new = {k for k in now if k not in sent}
        moved = {k: block for k, block in now.items() if k in sent and sent[k] != block}
        removed = [k for k in sent if k not in now]
        sent.clear()
        sent.update(now)
        if not (new or moved or removed):
            return []
        added = active.snapshot(new) if new else []
        # a call that moved on sends only its new block: 1000 busy calls stay small
        event = {"now": time.time(), "added": added, "blocks": moved, "removed": removed}
        return [("calls", event)]

    active = active_calls(console)
    wake = getattr(active, "changed", None)
    return console.feeds.add(Feed("calls", snapshot, changes, interval=1.0, wake=wake, min_gap=0.5))


# --------------------------------------------------------------------------- records


def _query(console: Console, filters: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    path = console.settings.calls_db
    if not path.is_file():
        return []
    where, args = [], []
    if filters.get("flow"):
        where.append("flow = ?")
        args.append(filters["flow"])
    if filters.get("status"):
        where.append("status = ?")
        args.append(filters["status"])
    if filters.get("uniqueid"):
        where.append("uniqueid = ?")
        args.append(filters["uniqueid"])
    digits = re.sub(r"\D", "", filters.get("caller") or "")
    if digits:
        where.append("caller LIKE ?")
        args.append(f"%{digits}%")
    if filters.get("date"):
        day = datetime.datetime.strptime(filters["date"], "%Y-%m-%d")
        where.append("started >= ? AND started < ?")
        args += [day.timestamp(), (day + datetime.timedelta(days=1)).timestamp()]
    sql = "SELECT record FROM calls"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY started DESC, id DESC LIMIT ?"
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2.0)
    try:
        rows = db.execute(sql, (*args, limit)).fetchall()
    finally:
        db.close()
    return [json.loads(row[0]) for row in rows]


def shown(record: dict[str, Any], *, detail: bool = False) -> dict[str, Any]:
    """A record as the console shows it: numbers masked as in the logs."""
    out = {
        "uniqueid": record.get("uniqueid", ""),
        "flow": record.get("flow", ""),
        "version": record.get("version", ""),
        "caller": show_number(str(record.get("caller", ""))),
        "started": record.get("started"),
        "duration": record.get("duration"),
        "status": record.get("status", ""),
        "result": record.get("result", ""),
        "last_block": record.get("last_block", ""),
        "error": record.get("error", ""),
    }
    if detail:
        out.update(
            path=list(record.get("path", [])),
            digits=list(record.get("digits", [])),
            transfers=list(record.get("transfers", [])),
            language=record.get("language", ""),
            ended=record.get("ended"),
        )
    return out


def filters_of(request: web.Request) -> dict[str, Any]:
    query = request.query
    filters = {k: query.get(k, "").strip() for k in ("flow", "status", "caller", "date")}
    if filters["date"] and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", filters["date"]):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "date: use YYYY-MM-DD"}), content_type="application/json"
        )
    return filters


async def recent(console: Console, filters: dict[str, Any], limit: int = 50) -> list[dict]:
    try:
        rows = await asyncio.to_thread(_query, console, filters, limit)
    except (sqlite3.Error, ValueError):
        return []
    return [shown(r) for r in rows]


async def list_calls(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    if request.query.get("live") in ("1", "true", "yes"):
        return web.json_response({"now": time.time(), "calls": live_calls(console)})
    filters = filters_of(request)
    try:
        limit = max(1, min(int(request.query.get("limit", "50")), MAX_LIMIT))
    except ValueError:
        return web.json_response({"error": "limit: a number"}, status=400)
    return web.json_response({"calls": await recent(console, filters, limit)})


async def call_detail(console: Console, uniqueid: str) -> dict[str, Any] | None:
    rows = await asyncio.to_thread(_query, console, {"uniqueid": uniqueid}, 1)
    live = [c for c in live_calls(console) if c["uniqueid"] == uniqueid]
    if not rows and not live:
        return None
    detail: dict[str, Any] = {"live": live[0] if live else None, "record": None, "messages": []}
    if rows:
        detail["record"] = shown(rows[0], detail=True)
    outbox = getattr(console.services, "outbox", None)
    if outbox is not None:
        stored = await outbox.list(None, 100, uniqueid)
        detail["messages"] = [
            {
                "id": m.id,
                "channel": m.channel,
                "to": shown_to(m.channel, m.to),
                "status": m.status,
                "delivery": m.delivery or "",
                "reason": m.reason,
                "attempts": m.attempts,
                "block": m.block,
            }
            for m in stored
        ]
    return detail


async def get_call(request: web.Request) -> web.Response:
    detail = await call_detail(request.app[CONSOLE], request.match_info["uniqueid"])
    if detail is None:
        return web.json_response({"error": "no such call"}, status=404)
    return web.json_response(detail)


# --------------------------------------------------------------------------- pages


async def calls_page(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    try:
        filters = filters_of(request)
    except web.HTTPBadRequest:
        filters = {"flow": "", "status": "", "caller": "", "date": ""}
    calls = await recent(console, filters)
    boot = {"kept": active_calls(console) is not None}
    return render(
        request,
        "calls.html",
        calls=calls,
        filters=filters,
        flows=console.store.names(),
        statuses=STATUSES,
        boot=boot_json(boot),
        when=_when,
    )


async def call_page(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    uniqueid = request.match_info["uniqueid"]
    detail = await call_detail(console, uniqueid)
    if detail is None:
        return render(request, "error.html", status=404, message=f"{uniqueid}: no such call")
    return render(request, "call.html", uniqueid=uniqueid, detail=detail, when=_when)


def _when(epoch: Any) -> str:
    try:
        return datetime.datetime.fromtimestamp(float(epoch)).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return ""
