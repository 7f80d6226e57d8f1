"""The outbox and the opt-in ledger: ``/outbox`` and ``/api/outbox…``, ``/api/optins…``.

``GET /api/outbox?status=&limit=``: messages with status, channel, masked number, tries,
next attempt, last error, and the count per status. ``POST /api/outbox/retry``
(``{"ids": [...]}``: failed or dead messages, queued again with a fresh count of tries)
and ``POST /api/outbox/purge`` (``{"older_than_days", "statuses"}``) change the store;
the page asks for confirmation first. ``GET /api/optins``: the WhatsApp consents (who,
when, how) and their revocations; ``POST /api/optins/revoke`` (``{"seq"}`` of a ledger
entry) appends a revocation, so the next WhatsApp message to that number is skipped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from agi_callbot.console.api import body, error
from agi_callbot.console.pages import render
from agi_callbot.console.state import CONSOLE, Console
from agi_callbot.outbox.model import STATUSES, StoredMessage, shown_to
from agi_callbot.outbox.store import PURGEABLE_STATUSES
from agi_callbot.phone import show_number

NO_OUTBOX = "the console runs without a node here: no outbox to show"
RETRYABLE = ("failed", "dead")


def routes(console: Console) -> list[web.RouteDef]:
    api, page = console.guard.api, console.guard.page
    return [
        web.get("/outbox", page(outbox_page)),
        web.get("/api/outbox", api(list_messages)),
        web.post("/api/outbox/retry", api(retry)),
        web.post("/api/outbox/purge", api(purge)),
        web.get("/api/optins", api(list_optins)),
        web.post("/api/optins/revoke", api(revoke)),
    ]


def outbox_of(console: Console) -> Any:
    return getattr(console.services, "outbox", None)


def shown(m: StoredMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "created_at": m.created_at,
        "channel": m.channel,
        "to": shown_to(m.channel, m.to),
        "status": m.status,
        "delivery": m.delivery or "",
        "attempts": m.attempts,
        "next_attempt_at": m.next_attempt_at if m.status in ("queued", "sending") else None,
        "reason": m.reason,
        "flow": m.flow,
        "block": m.block,
        "call_uniqueid": m.call_uniqueid,
        "template": m.payload.get("template", "") if m.channel == "whatsapp" else "",
    }


def unavailable() -> web.Response:
    return error(NO_OUTBOX, 503)


async def messages(console: Console, status: str | None, limit: int) -> dict[str, Any]:
    outbox = outbox_of(console)
    rows = await outbox.list(status or None, limit)
    counts = await outbox.counts()
    return {
        "counts": {s: counts.get(s, 0) for s in STATUSES},
        "messages": [shown(m) for m in rows],
    }


async def ledger(console: Console, limit: int = 200) -> list[dict[str, Any]]:
    outbox = outbox_of(console)
    entries = await outbox.optins.ledger(limit)
    return [{**e, "number": show_number(str(e["number"]))} for e in entries]


# --------------------------------------------------------------------------- routes


def with_outbox(
    handler: Callable[[web.Request, Any], Awaitable[web.Response]],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A route that works on the node's outbox: 503 when the console runs without one."""

    async def route(request: web.Request) -> web.Response:
        outbox = outbox_of(request.app[CONSOLE])
        if outbox is None:
            return unavailable()
        return await handler(request, outbox)

    return route


@with_outbox
async def list_messages(request: web.Request, outbox: Any) -> web.Response:
    status = request.query.get("status", "")
    if status and status not in STATUSES:
        return error(f"status: one of {', '.join(STATUSES)}", 400)
    try:
        limit = max(1, min(int(request.query.get("limit", "100")), 1000))
    except ValueError:
        return error("limit: a number", 400)
    return web.json_response(await messages(request.app[CONSOLE], status, limit))


@with_outbox
async def retry(request: web.Request, outbox: Any) -> web.Response:
    ids = (await body(request)).get("ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        return error("'ids': the messages to retry", 400)
    done = await outbox.retry(ids)
    return web.json_response({"retried": done, "not_retried": [i for i in ids if i not in done]})


@with_outbox
async def purge(request: web.Request, outbox: Any) -> web.Response:
    data = await body(request)
    days = data.get("older_than_days")
    statuses = data.get("statuses") or list(PURGEABLE_STATUSES)
    if not isinstance(days, int | float) or isinstance(days, bool) or days < 0:
        return error("'older_than_days': a number ≥ 0", 400)
    if not isinstance(statuses, list) or not set(statuses) <= set(PURGEABLE_STATUSES):
        return error(f"'statuses': some of {', '.join(PURGEABLE_STATUSES)}", 400)
    purged = await outbox.purge(float(days) * 86400.0, tuple(statuses))
    return web.json_response({"purged": purged})


@with_outbox
async def list_optins(request: web.Request, outbox: Any) -> web.Response:
    return web.json_response({"optins": await ledger(request.app[CONSOLE])})


@with_outbox
async def revoke(request: web.Request, outbox: Any) -> web.Response:
    seq = (await body(request)).get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool):
        return error("'seq': the ledger entry to revoke", 400)
    entry = await outbox.optins.entry(seq)
    if entry is None:
        return error("no such ledger entry", 404)
    await outbox.optins.revoke(str(entry["number"]), str(entry["channel"]), "console")
    return web.json_response(
        {"revoked": show_number(str(entry["number"])), "channel": entry["channel"]}
    )


async def outbox_page(request: web.Request) -> web.Response:
    from agi_callbot.console.calls import _when
    from agi_callbot.console.teams import boot_json

    console = request.app[CONSOLE]
    if outbox_of(console) is None:
        return render(request, "outbox.html", status=503, data=None, message=NO_OUTBOX)
    status = request.query.get("status", "")
    status = status if status in STATUSES else ""
    data = await messages(console, status, 200)
    optins = await ledger(console)
    return render(
        request,
        "outbox.html",
        data=data,
        picked=status,
        statuses=STATUSES,
        purgeable=PURGEABLE_STATUSES,
        retryable=RETRYABLE,
        optins=optins,
        when=_when,
        boot=boot_json({"purgeable": list(PURGEABLE_STATUSES)}),
    )
