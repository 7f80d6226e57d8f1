"""The one HTTP listener of a node: health, readiness, metrics, prompts, provider callbacks.

It runs in the server's event loop (aiohttp's ``AppRunner``), on ``http.host:http.port``
(127.0.0.1:8090 by default — 8088/8089 are Asterisk's own HTTP ports):

``/healthz``  the process answers: for a liveness probe (restart when it stops answering).
``/readyz``   the node can take calls: flows loaded, outbox store reachable. 503 with the
              failing checks otherwise, so an orchestrator or the compose lab routes
              calls elsewhere (Asterisk fails over on ``AGISTATUS``) rather than restarting.
``/metrics``  Prometheus exposition of :mod:`agi_callbot.metrics`; scrape-time
              collectors run first, each under its own deadline.
``<prompts>`` the prompt cache for Asterisk's media cache (:mod:`agi_callbot.tts.http`).
``/callbacks/<provider>`` delivery-status callbacks of SMS/WhatsApp providers
              (:mod:`agi_callbot.gateways.callbacks`, mounted when that module exists).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from agi_callbot import __version__, metrics
from agi_callbot.config import Settings
from agi_callbot.gateways import callbacks
from agi_callbot.log_limit import Limiter
from agi_callbot.transport.fastagi import listen_error

log = logging.getLogger(__name__)

#: (ok, details): details says what each check found, shown to whoever asks /readyz
Readiness = tuple[bool, Mapping[str, Any]]
ReadyCheck = Callable[[], Readiness | Awaitable[Readiness]]
READY_TIMEOUT_S = 2.0
ASTERISK_HTTP_PORTS = (8088, 8089)

_STARTED = web.AppKey("started", float)
_READY = web.AppKey("ready", object)


class _OneLineErrors(logging.Filter):
    """aiohttp logs a malformed request with a full traceback (``Error handling request``):
    anyone can send one, so each becomes one short, rate-limited line naming the cause;
    an error in our own handler keeps its traceback, once per window."""

    def __init__(self) -> None:
        super().__init__()
        self.limiter = Limiter(log)

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None:
            return True
        cause = type(exc).__name__
        if isinstance(exc, HttpProcessingError):
            status = getattr(exc, "code", 400) or 400
            self.limiter.warning(cause, "http: malformed request refused (%s, %s)", cause, status)
        else:
            self.limiter.log(
                logging.ERROR,
                cause,
                "http: error handling a request: %s",
                cause,
                exc_info=record.exc_info,
            )
        return False


#: the logger our HTTP listener's connections log to (aiohttp's ``aiohttp.server`` otherwise)
_SERVER_LOG = logging.getLogger("agi_callbot.web.server")
_SERVER_LOG.addFilter(_OneLineErrors())


def _always_ready() -> Readiness:
    return True, {}


def build_app(
    settings: Settings,
    *,
    prompts: Any = None,
    outbox: Any = None,
    ready: ReadyCheck = _always_ready,
    client_max_size: int = 1024 * 1024,
) -> web.Application:
    """The aiohttp application with every route this node serves.

    ``ready`` is called for each ``/readyz`` (sync or async) and must return
    ``(ok, details)``; the server passes one that checks the flow library and the
    outbox store. ``prompts`` (a PromptService) adds the prompt routes; ``outbox`` adds the
    providers' status callbacks when the gateways ship them.
    """
    app = web.Application(client_max_size=client_max_size)
    app[_STARTED] = time.monotonic()
    app[_READY] = ready
    app.add_routes(
        [
            web.get("/healthz", _healthz, allow_head=True),
            web.get("/readyz", _readyz, allow_head=True),
            web.get("/metrics", _metrics),
        ]
    )
    if prompts is not None:
        from agi_callbot.tts.http import routes as prompt_routes

        app.add_routes(prompt_routes(prompts))
    if outbox is not None:
        app.add_routes(callbacks.routes(outbox, settings))  # settings: providers' secrets
    return app


async def _healthz(request: web.Request) -> web.Response:
    uptime = time.monotonic() - request.app[_STARTED]
    return web.json_response({"status": "ok", "version": __version__, "uptime_s": round(uptime)})


async def _readyz(request: web.Request) -> web.Response:
    check: ReadyCheck = request.app[_READY]  # type: ignore[assignment]
    try:
        result = check()
        if inspect.isawaitable(result):
            result = await asyncio.wait_for(result, READY_TIMEOUT_S)
        ok, details = result  # type: ignore[misc]
    except TimeoutError:
        ok, details = False, {"error": f"readiness checks took longer than {READY_TIMEOUT_S}s"}
    except Exception as exc:
        log.exception("readiness check failed")
        ok, details = False, {"error": f"readiness check failed: {type(exc).__name__}"}
    if not ok:
        log.warning("not ready: %s", dict(details))
    body = {"status": "ready" if ok else "not ready", "checks": dict(details)}
    return web.json_response(body, status=200 if ok else 503, dumps=_dumps)


async def _metrics(request: web.Request) -> web.Response:
    await metrics.refresh()
    body, content_type = metrics.exposition(request.headers.get("Accept", ""))
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type
    return response


def _dumps(obj: Any) -> str:
    return json.dumps(obj, default=str)


async def start_http(
    settings: Settings,
    app: web.Application,
    *,
    host: str | None = None,
    port: int | None = None,
    what: str = "HTTP",
) -> web.AppRunner:
    """Listen on ``http.host:http.port``; the caller awaits ``runner.cleanup()`` at shutdown.

    Port 0 picks a free port (tests): read it from ``runner.addresses``. A port already in
    use is a ConfigError naming the address, not a traceback.
    """
    host = settings.http.host if host is None else host
    port = settings.http.port if port is None else port
    if port in ASTERISK_HTTP_PORTS:
        log.warning("http.port %d is one of Asterisk's own HTTP ports; choose another", port)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, logger=_SERVER_LOG)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        section = "http" if what == "HTTP" else what
        raise listen_error(section, what, host, port, exc) from None
    address = runner.addresses[0] if runner.addresses else (host, port)
    log.info("%s listening on %s:%s", what, address[0], address[1])
    return runner
