"""The console's HTML pages, rendered on the server (Jinja2), in Spanish or English.

``/login`` (token or password → session), ``/logout``, ``/flows`` (the list),
``/flows/{name}`` (the designer: picture, inspector, YAML tab, Try it drawer) and the
inspector fragment the designer asks for when a block is picked.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from agi_callbot.console import forms
from agi_callbot.console.api import flow_summaries
from agi_callbot.console.auth import SESSION, Guard
from agi_callbot.console.document import EditError, FlowDocument
from agi_callbot.console.starters import STARTERS
from agi_callbot.console.state import CONSOLE, NAME, Console
from agi_callbot.console.store import StoreError
from agi_callbot.console.words import LANG_COOKIE, LANGUAGES, language, translator
from agi_callbot.flow.loader import check_name

HERE = Path(__file__).parent
ENVIRONMENT = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def routes(console: Console) -> list[web.RouteDef]:
    page = console.guard.page
    return [
        web.get("/login", login_page),
        web.post("/login", login),
        web.post("/logout", page(logout)),
        web.get("/", page(home)),
        web.get("/flows", page(flows_page)),
        web.get(f"/flows/{NAME}", page(designer)),
        web.post(f"/flows/{NAME}/inspector", page(inspector)),
    ]


def page_html(template: str, lang: str, *, csrf: str = "", path: str = "", **values: Any) -> str:
    return ENVIRONMENT.get_template(template).render(
        t=translator(lang), lang=lang, languages=LANGUAGES, csrf=csrf, path=path, **values
    )


def render(request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
    lang = language(request)
    session = request.get(SESSION)
    html = page_html(
        template, lang, csrf=session.csrf if session else "", path=request.path, **values
    )
    return respond(request, html, status)


def respond(request: web.Request, html: str, status: int = 200) -> web.Response:
    lang = language(request)
    response = web.Response(text=html, content_type="text/html", status=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
        "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
    )
    if request.query.get("lang") in LANGUAGES:
        secure = request.app[CONSOLE].guard.proxies.secure(request)
        response.set_cookie(
            LANG_COOKIE, lang, samesite="Strict", max_age=365 * 86400, secure=secure
        )
    return response


# --------------------------------------------------------------------------- login


def _client(request: web.Request) -> str:
    return request.app[CONSOLE].guard.proxies.client(request)


async def login_page(request: web.Request) -> web.StreamResponse:
    """``/login?token=…`` (the URL the server logs) logs in at once; else the form."""
    guard: Guard = request.app[CONSOLE].guard
    token = request.query.get("token")
    if token is not None:
        return await _attempt(request, guard, token)
    if guard.session(request) is not None:
        raise web.HTTPSeeOther("/flows")
    return render(request, "login.html", has_password=bool(guard.password_hash))


async def login(request: web.Request) -> web.StreamResponse:
    guard: Guard = request.app[CONSOLE].guard
    form = await request.post()
    return await _attempt(request, guard, str(form.get("secret", "")))


async def _attempt(request: web.Request, guard: Guard, candidate: str) -> web.StreamResponse:
    client = _client(request)
    if guard.limited(client):
        return render(request, "login.html", status=429, message="login_limited")
    if candidate and (guard.token_ok(candidate) or guard.password_ok(candidate)):
        response = web.HTTPSeeOther("/flows")
        guard.open_session(response, request)
        request.app[CONSOLE].workers.warm()  # the first check will not wait for it
        raise response
    guard.failed(client)
    return render(request, "login.html", status=401, message="login_failed")


async def logout(request: web.Request) -> web.StreamResponse:
    response = web.HTTPSeeOther("/login")
    request.app[CONSOLE].guard.close_session(request, response)
    raise response


# --------------------------------------------------------------------------- pages


async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/flows")


async def flows_page(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    flows = await flow_summaries(console)

    def deleted() -> list[dict[str, Any]]:
        out = []
        for name in console.store.deleted():
            history = console.store.history(name)
            if history:
                out.append({"name": name, **history[0]})
        return out

    return render(
        request,
        "flows.html",
        flows=flows,
        starters=list(STARTERS),
        deleted=await asyncio.to_thread(deleted),
    )


async def designer(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    name = request.match_info["name"]
    try:
        check_name(name)
        text, version = console.store.read(name)
    except StoreError as exc:
        return render(request, "error.html", status=exc.status, message=str(exc))
    except Exception as exc:
        return render(request, "error.html", status=400, message=str(exc))
    try:
        found = await console.verdict(name, text)
    except StoreError as exc:
        return render(request, "error.html", status=exc.status, message=str(exc))
    boot = {
        "name": name,
        "yaml": text,
        "version": version,
        "problems": found["problems"],
        "block_names": found["blocks"] or [],
        "blocks": list(forms.NEW_BLOCK),
        "actions": list(forms.NEW_ACTION),
        "new_block": forms.NEW_BLOCK,
        "new_action": forms.NEW_ACTION,
    }
    return render(
        request,
        "designer.html",
        name=name,
        boot=json.dumps(boot, ensure_ascii=False).replace("</", "<\\/"),
        block_kinds=[(k, forms.BLOCKS[k][0]) for k in forms.NEW_BLOCK],
        action_kinds=[(k, forms.ACTIONS[k][0]) for k in forms.NEW_ACTION],
    )


async def inspector(request: web.Request) -> web.Response:
    """The form for one block of a draft (``{"yaml", "block"}``; block "" = the flow),
    made in the console's worker process (the draft is parsed there)."""
    console = request.app[CONSOLE]
    try:
        data = await request.json()
    except ValueError as exc:
        return render(request, "inspector_error.html", status=400, message=str(exc))
    settings = console.settings
    values = {
        "teams": _folders(settings.moh_dir),
        "music": _folders(settings.moh_dir),
        "templates": sorted(settings.templates),
        "template_info": {
            name: f"{info.get('language', '?')}, {info.get('params', 0)} param."
            for name, info in settings.templates.items()
            if isinstance(info, dict)
        },
        "flows": console.store.names(),
    }
    text, block = str(data.get("yaml", "")), str(data.get("block", ""))
    try:
        status, html = await console.work("inspector", text, block, language(request), values)
    except StoreError as exc:
        return render(request, "inspector_error.html", status=exc.status, message=str(exc))
    return respond(request, html, status)


def inspector_html(text: str, block: str, lang: str, values: dict[str, Any]) -> tuple[int, str]:
    """(status, HTML) of the inspector for ``block`` of draft ``text`` (in a worker)."""
    try:
        document = FlowDocument(text)
    except EditError as exc:
        return 400, page_html("inspector_error.html", lang, message=str(exc))
    if block and block not in document.blocks():
        return 404, page_html("inspector_error.html", lang, message=block)
    return 200, page_html(
        "inspector.html",
        lang,
        document=document,
        block=block,
        index=LANGUAGES.index(lang),
        blocks=list(document.blocks()),
        variables=forms.variables(document.data),
        forms=forms,
        **values,
    )


def _folders(path: Path) -> list[str]:
    try:
        return sorted(p.name for p in Path(path).iterdir() if p.is_dir())
    except OSError:
        return []
