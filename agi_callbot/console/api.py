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
import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from agi_callbot.console import callers
from agi_callbot.console.document import EditError
from agi_callbot.console.picture import Pictures
from agi_callbot.console.starters import template_text
from agi_callbot.console.state import CONSOLE, FLOW_API, Console
from agi_callbot.console.store import Conflict, Invalid, StoreError, version_of
from agi_callbot.flow.loader import check_name


def routes(console: Console) -> list[web.RouteDef]:
    api = console.guard.api
    return [
        web.get("/api/flows", api(list_flows)),
        web.post("/api/flows", api(create_flow)),
        web.get(f"{FLOW_API}/history", api(history)),
        web.get(f"{FLOW_API}/history/{{entry}}", api(history_entry)),
        web.post(f"{FLOW_API}/restore", api(restore)),
        web.post(f"{FLOW_API}/rename", api(rename)),
        web.post(f"{FLOW_API}/check", api(check)),
        web.post(f"{FLOW_API}/edit", api(edit)),
        web.post(f"{FLOW_API}/picture", api(picture)),
        web.get(FLOW_API, api(get_flow)),
        web.put(FLOW_API, api(put_flow)),
        web.delete(FLOW_API, api(delete_flow)),
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


async def flow_summaries(console: Console) -> list[dict[str, Any]]:
    """Every flow for the list (:func:`agi_callbot.console.work.summaries`)."""
    found: list[dict[str, Any]] = await console.work("summaries")
    return found


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
            text = await console.work("copy_text", str(data["copy_of"]), name)
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
    try:
        found = await console.verdict(name, text)
    except StoreError as exc:
        return refused(exc)
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
    except StoreError as exc:
        return refused(exc)
    return web.json_response({"version": checked.version, "problems": checked.problems})


async def delete_flow(request: web.Request) -> web.Response:
    """``?base_version=…``; a flow other flows call as a sub-flow also needs
    ``&confirm=1`` (else 409 with ``callers``: the flows whose calls would break)."""
    console = request.app[CONSOLE]
    name = name_of(request)
    base = request.query.get("base_version")
    confirmed = request.query.get("confirm", "") in ("1", "true", "yes")
    try:
        broken = await callers.delete(console, name, base, confirmed=confirmed)
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
        done = await callers.rename(console, name, new_name, data.get("base_version"))
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
    try:
        found = await console.verdict(name, text)
    except StoreError as exc:
        return refused(exc)
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
        found = await console.work("edited", name, text, ops)
    except EditError as exc:
        return error(exc.message, 400, line=exc.line)
    except StoreError as exc:
        return refused(exc)
    return web.json_response(found)


async def picture(request: web.Request) -> web.Response:
    """The flow as SVG (Graphviz), from a draft text; 422 while the draft has errors."""
    console = request.app[CONSOLE]
    name = name_of(request)
    text = text_of(await body(request), console)
    pictures: Pictures = console.pictures
    version = version_of(text.encode("utf-8"))
    svg = pictures.cached(name, version)
    if svg is None:
        try:
            drawing = await console.work("dot", name, text)
        except StoreError as exc:
            return refused(exc)
        if drawing is None:
            return error("the draft has errors: fix them to see the picture", 422)
        try:
            svg = await pictures.svg(name, version, drawing)
        except Exception as exc:
            return error(f"cannot draw the flow: {exc}", 500)
    return web.Response(text=svg, content_type="image/svg+xml")
