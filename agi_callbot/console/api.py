"""The console's JSON routes under ``/api/`` (the pages call the same ones).

Flows: ``GET /api/flows``; ``POST /api/flows`` (create from a template or duplicate);
``GET|PUT|DELETE /api/flows/{name}``; ``POST /api/flows/{name}/rename``;
``GET /api/flows/{name}/history`` and ``…/history/{id}``; ``POST …/restore``.
Drafts (nothing written): ``POST …/check`` (problems), ``POST …/edit`` (form edits applied
to a draft text), ``POST …/picture`` (SVG). Every change states ``base_version``: 409
with both texts when it is stale, 422 with the problems when the text has errors.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from agi_callbot.console import callers
from agi_callbot.console.document import EditError, FlowDocument, edit_text
from agi_callbot.console.picture import Pictures
from agi_callbot.console.splice import block_names, field_in, paths_by_line
from agi_callbot.console.starters import template_text
from agi_callbot.console.state import CONSOLE, Console
from agi_callbot.console.store import Checked, Conflict, Invalid, StoreError
from agi_callbot.flow.loader import check_name


def routes(console: Console) -> list[web.RouteDef]:
    api = console.guard.api
    return [
        web.get("/api/flows", api(list_flows)),
        web.post("/api/flows", api(create_flow)),
        web.get("/api/flows/{name:[A-Za-z0-9_/-]+}/history", api(history)),
        web.get("/api/flows/{name:[A-Za-z0-9_/-]+}/history/{entry}", api(history_entry)),
        web.post("/api/flows/{name:[A-Za-z0-9_/-]+}/restore", api(restore)),
        web.post("/api/flows/{name:[A-Za-z0-9_/-]+}/rename", api(rename)),
        web.post("/api/flows/{name:[A-Za-z0-9_/-]+}/check", api(check)),
        web.post("/api/flows/{name:[A-Za-z0-9_/-]+}/edit", api(edit)),
        web.post("/api/flows/{name:[A-Za-z0-9_/-]+}/picture", api(picture)),
        web.get("/api/flows/{name:[A-Za-z0-9_/-]+}", api(get_flow)),
        web.put("/api/flows/{name:[A-Za-z0-9_/-]+}", api(put_flow)),
        web.delete("/api/flows/{name:[A-Za-z0-9_/-]+}", api(delete_flow)),
    ]


# --------------------------------------------------------------------------- helpers


def error(message: str, status: int, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def refused(exc: StoreError) -> web.Response:
    if isinstance(exc, Conflict):
        return error(str(exc), 409, current=exc.current, version=exc.version)
    if isinstance(exc, Invalid):
        return error(str(exc), 422, problems=exc.problems)
    return error(str(exc), exc.status)


async def body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except web.HTTPRequestEntityTooLarge:
        raise
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "the body must be JSON"}), content_type="application/json"
        ) from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "the body must be a JSON object"}),
            content_type="application/json",
        )
    return data


def name_of(request: web.Request) -> str:
    name = request.match_info["name"]
    try:
        return check_name(name)
    except Exception as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": str(exc)}), content_type="application/json"
        ) from None


def text_of(data: Mapping[str, Any], console: Console) -> str:
    text = data.get("yaml")
    if not isinstance(text, str):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "'yaml' must be the flow's text"}),
            content_type="application/json",
        )
    limit = console.settings.console.max_flow_bytes
    if len(text.encode("utf-8")) > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=len(text))
    return text


def problems_of(checked: Checked) -> list[dict[str, Any]]:
    """The problems with the form field each one concerns (dotted YAML path)."""
    if not checked.problems:
        return []
    lines = paths_by_line(checked.text)
    out = []
    for problem in checked.problems:
        field = field_in(lines, problem["line"]) if problem["line"] else ""
        out.append({**problem, "field": field})
    return out


def verdict(console: Console, name: str, text: str) -> dict[str, Any]:
    """Loader + lint on a draft with the field of each problem and the block names: all
    the parsing a request needs, in one call made off the event loop (the node's calls
    share it)."""
    checked = console.checked(name, text)
    return {
        "version": checked.version,
        "state": checked.state,
        "problems": problems_of(checked),
        "blocks": block_names(text),
        "flow": checked.flow,
    }


def calls_today(console: Console) -> dict[str, int]:
    path = console.settings.calls_db
    if not path.is_file():
        return {}
    midnight = datetime.datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
        try:
            rows = db.execute(
                "SELECT flow, COUNT(*) FROM calls WHERE started >= ? GROUP BY flow",
                (midnight.timestamp(),),
            ).fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return {}
    return {str(flow): int(count) for flow, count in rows}


def summary(console: Console, name: str) -> dict[str, Any]:
    text, version = console.store.read(name)
    checked = console.checked(name, text)
    flow = checked.flow
    stat = console.store.path(name).stat()
    return {
        "name": name,
        "language": flow.language if flow else "",
        "description": flow.description if flow else "",
        "version": version,
        "state": checked.state,
        "errors": sum(p["severity"] == "error" for p in checked.problems),
        "warnings": sum(p["severity"] == "warning" for p in checked.problems),
        "changed": datetime.datetime.fromtimestamp(stat.st_mtime).strftime("%Y-%m-%d %H:%M"),
        "subflows": list(flow.subflows()) if flow else [],
    }


async def flow_summaries(console: Console) -> list[dict[str, Any]]:
    def collect() -> list[dict[str, Any]]:
        today = calls_today(console)
        out = []
        for name in console.store.names():
            try:
                item = summary(console, name)
            except (StoreError, OSError):
                continue
            item["calls_today"] = today.get(name, 0)
            out.append(item)
        for item in out:
            item["called_by"] = [o["name"] for o in out if item["name"] in o["subflows"]]
        return out

    return await asyncio.to_thread(collect)


# --------------------------------------------------------------------------- flows


async def list_flows(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    return web.json_response({"flows": await flow_summaries(console)})


async def create_flow(request: web.Request) -> web.Response:
    """``{"name", "template": "empty"|<example>}`` or ``{"name", "copy_of": <flow>}``."""
    console = request.app[CONSOLE]
    data = await body(request)
    name = str(data.get("name", "")).strip()
    try:
        check_name(name)
        if data.get("copy_of"):
            text, _ = console.store.read(str(data["copy_of"]))
            document = FlowDocument(text)
            document.set(["flow"], name)
            text = document.text()
        else:
            text = template_text(str(data.get("template") or "empty"), name)
        checked = await console.store.save(name, text, None)
    except StoreError as exc:
        return refused(exc)
    except Exception as exc:  # FlowError, EditError: a name or template problem
        return error(str(exc), 400)
    return web.json_response({"name": name, "version": checked.version}, status=201)


async def get_flow(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    name = name_of(request)
    try:
        text, version = console.store.read(name)
    except StoreError as exc:
        return refused(exc)
    found = await asyncio.to_thread(verdict, console, name, text)
    return web.json_response(
        {"name": name, "yaml": text, "version": version, "problems": found["problems"]}
    )


async def put_flow(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    name = name_of(request)
    data = await body(request)
    text = text_of(data, console)
    base = data.get("base_version")
    if base is not None and not isinstance(base, str):
        return error("'base_version' must be the version you started from", 400)
    try:
        checked = await console.store.save(name, text, base)
    except Invalid as exc:
        checked = Checked(text, "", None, exc.problems)
        return error(str(exc), 422, problems=await asyncio.to_thread(problems_of, checked))
    except StoreError as exc:
        return refused(exc)
    problems = await asyncio.to_thread(problems_of, checked)
    return web.json_response({"version": checked.version, "problems": problems})


async def delete_flow(request: web.Request) -> web.Response:
    """``?base_version=…``; a flow other flows call as a sub-flow also needs
    ``&confirm=1`` (else 409 with ``callers``: the flows whose calls would break)."""
    console = request.app[CONSOLE]
    name = name_of(request)
    base = request.query.get("base_version")
    confirmed = request.query.get("confirm", "") in ("1", "true", "yes")
    try:
        broken = await callers.delete(console.store, name, base, confirmed=confirmed)
    except callers.Called as exc:
        return error(str(exc), exc.status, callers=exc.callers)
    except StoreError as exc:
        return refused(exc)
    return web.json_response({"deleted": name, "callers": broken})


async def rename(request: web.Request) -> web.Response:
    """``{"new_name", "base_version"}`` → the new version, and ``callers``: the flows whose
    ``subflow:`` calls were rewritten in the same operation, with their new versions."""
    console = request.app[CONSOLE]
    name = name_of(request)
    data = await body(request)
    new_name = str(data.get("new_name", "")).strip()
    try:
        done = await callers.rename(console.store, name, new_name, data.get("base_version"))
    except StoreError as exc:
        return refused(exc)
    except EditError as exc:
        return error(str(exc), 400)
    return web.json_response(
        {"name": new_name, "version": done.checked.version, "callers": done.callers}
    )


async def history(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    name = name_of(request)
    return web.json_response({"history": await asyncio.to_thread(console.store.history, name)})


async def history_entry(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    name = name_of(request)
    try:
        text = console.store.history_text(name, request.match_info["entry"])
    except StoreError as exc:
        return refused(exc)
    return web.json_response({"yaml": text})


async def restore(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    name = name_of(request)
    data = await body(request)
    try:
        checked = await console.store.restore(
            name, str(data.get("id", "")), data.get("base_version")
        )
    except StoreError as exc:
        return refused(exc)
    return web.json_response({"version": checked.version})


# --------------------------------------------------------------------------- drafts


async def check(request: web.Request) -> web.Response:
    """Live validation of a draft: the same messages as ``agi-callbot validate``."""
    console = request.app[CONSOLE]
    name = name_of(request)
    text = text_of(await body(request), console)
    found = await asyncio.to_thread(verdict, console, name, text)
    del found["flow"]
    return web.json_response(found)


async def edit(request: web.Request) -> web.Response:
    """Form edits on a draft: ``{"yaml", "ops": [{"op": "set", "path": […], "value"}, …]}``
    → the new draft text (only the edited lines change) and its problems."""
    console = request.app[CONSOLE]
    name = name_of(request)
    data = await body(request)
    text = text_of(data, console)
    ops = data.get("ops")
    if not isinstance(ops, list) or not all(isinstance(op, dict) for op in ops):
        return error("'ops' must be a list of edits", 400)
    try:
        found = await asyncio.to_thread(edited, console, name, text, ops)
    except EditError as exc:
        return error(exc.message, 400, line=exc.line)
    del found["flow"]
    return web.json_response(found)


def edited(console: Console, name: str, text: str, ops: list[dict[str, Any]]) -> dict[str, Any]:
    new_text = edit_text(text, ops)
    return {"yaml": new_text, **verdict(console, name, new_text)}


async def picture(request: web.Request) -> web.Response:
    """The flow as SVG (Graphviz), from a draft text; 422 while the draft has errors."""
    console = request.app[CONSOLE]
    name = name_of(request)
    text = text_of(await body(request), console)
    checked = await asyncio.to_thread(console.checked, name, text)
    if checked.flow is None:
        return error("the draft has errors: fix them to see the picture", 422)
    pictures: Pictures = console.pictures
    try:
        svg = await pictures.svg(checked.flow)
    except Exception as exc:
        return error(f"cannot draw the flow: {exc}", 500)
    return web.Response(text=svg, content_type="image/svg+xml")
