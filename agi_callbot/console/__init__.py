"""The designer console: build, check, try and publish flows in a browser.

It is served by the node's own HTTP listener (or its own, ``console.port``), in the same
event loop and never on a call's path: its CPU-heavy work (checking drafts, edits, Try
it calls) runs in worker processes (:mod:`agi_callbot.console.workers`). It reaches the
engine only through what the CLI uses: the flow loader and lint, the graph module, the
simulator, the prompt service.
Nothing in ``flow/``, ``agi/`` or ``transport/`` knows it exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from agi_callbot.config import Settings
from agi_callbot.console import api, cases, dashboard, outbox_api, pages, prompts, tryit
from agi_callbot.console import calls as calls_pages
from agi_callbot.console import teams as teams_pages
from agi_callbot.console.auth import Guard
from agi_callbot.console.state import CONSOLE, Console
from agi_callbot.console.store import FlowStore
from agi_callbot.console.workers import WorkerError

STATIC = Path(__file__).parent / "static"

__all__ = ["Console", "mount", "standalone_app"]


def mount(
    app: web.Application,
    settings: Settings,
    *,
    services: Any = None,
    token: str | None = None,
) -> Console:
    """Add the console's routes to ``app``; returns its state (the guard holds the token)."""
    console = Console(settings, Guard(settings, token), FlowStore(settings), services=services)
    app[CONSOLE] = console
    app.add_routes(pages.routes(console))
    # the specific /api/flows/<name>/… routes first: a flow name may contain "/"
    app.add_routes(tryit.routes(console))
    app.add_routes(cases.routes(console))
    app.add_routes(prompts.routes(console))
    app.add_routes(api.routes(console))
    app.add_routes(teams_pages.routes(console))
    app.add_routes(calls_pages.routes(console))
    app.add_routes(outbox_api.routes(console))
    app.add_routes(dashboard.routes(console))
    app.on_shutdown.append(console.feeds.close)

    async def stop_workers(app: web.Application) -> None:
        await console.workers.aclose()

    app.on_shutdown.append(stop_workers)
    app.middlewares.append(_worker_errors)
    app.add_routes([web.static("/console-static", STATIC, append_version=False)])
    app.on_response_prepare.append(_no_sniff)

    async def close_prompts(app: web.Application) -> None:
        if console.own_prompts is not None:
            await console.own_prompts.aclose()

    app.on_cleanup.append(close_prompts)
    return console


def standalone_app(settings: Settings, **kwargs: Any) -> tuple[web.Application, Console]:
    """The console on a listener of its own (``console.port``)."""
    app = web.Application(client_max_size=settings.console.max_flow_bytes * 2 + 65536)
    return app, mount(app, settings, **kwargs)


@web.middleware
async def _worker_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """A request whose worker died or took too long: 503 with what happened."""
    try:
        return await handler(request)
    except WorkerError as exc:
        if request.path.startswith("/api/"):
            return web.json_response({"error": str(exc)}, status=exc.status)
        return web.Response(text=str(exc), status=exc.status)


async def _no_sniff(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
