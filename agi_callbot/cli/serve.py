"""``agi-callbot serve`` (FastAGI node) and ``agi-callbot agi FLOW`` (classic AGI)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from agi_callbot.cli import command
from agi_callbot.config import Http, Listen, Settings, load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    listen, http = Listen(), Http()
    serve = command(
        subparsers,
        "serve",
        "run a node: FastAGI for Asterisk, HTTP, outbox workers, flow reloads",
        f"""\
Run the node until SIGTERM/SIGINT: the FastAGI server Asterisk connects to
(AGI(agi://host:{listen.port}/<flow>)), the HTTP listener on {http.host}:{http.port}
(/healthz, /readyz, /metrics, /prompts/..., provider callbacks; http.enabled: false
turns it off), the outbox workers that deliver messages, and the watcher that
reloads edited flows for new calls. On SIGTERM it stops taking calls, lets the calls
in progress finish (listen.drain_timeout, {listen.drain_timeout:g}s), then exits.
Both listeners bind 127.0.0.1 unless the settings or these options say otherwise.""",
        """\
agi-callbot --config /etc/agi-callbot/callbot.yaml serve
agi-callbot --config callbot.yaml serve --host 0.0.0.0 --port 4573
CALLBOT_LOG__LEVEL=DEBUG agi-callbot --config callbot.yaml serve --http-port 8091""",
    )
    serve.add_argument("--flows", metavar="DIR", help="flows folder (default: flows_dir)")
    serve.add_argument(
        "--host", help=f"FastAGI address to listen on (default: listen.host, {listen.host})"
    )
    serve.add_argument(
        "--port", type=int, help=f"FastAGI port (default: listen.port, {listen.port})"
    )
    serve.add_argument(
        "--http-port",
        type=int,
        help=f"HTTP port for health, metrics, prompts, callbacks (default: http.port, {http.port})",
    )
    serve.set_defaults(func=run_serve)

    agi = command(
        subparsers,
        "agi",
        "classic AGI: run one call on stdin/stdout (no server process)",
        """\
Run one call of FLOW as a classic AGI script: Asterisk starts this command for each
call and talks to it on stdin/stdout. For small installs without a FastAGI node;
logs go to stderr. No server runs the outbox here: run `agi-callbot outbox work` as
a service to deliver the messages calls queue.""",
        """\
exten => 100,1,AGI(/usr/local/bin/agi-callbot,agi,soporte)
exten => 100,1,AGI(/usr/local/bin/agi-callbot,--config,/etc/callbot.yaml,agi,soporte)""",
    )
    agi.add_argument("flow", metavar="FLOW", help="flow name (overrides agi_network_script)")
    agi.set_defaults(func=run_agi)


def settings_from(args: argparse.Namespace) -> Settings:
    overrides = {
        "flows_dir": getattr(args, "flows", None),
        "listen.host": getattr(args, "host", None),
        "listen.port": getattr(args, "port", None),
        "http.port": getattr(args, "http_port", None),
    }
    return load_settings(
        args.config, overrides={k: v for k, v in overrides.items() if v is not None}
    )


def run_serve(args: argparse.Namespace) -> int:
    from agi_callbot.app import serve_forever
    from agi_callbot.log import setup_logging

    settings = settings_from(args)
    setup_logging(settings.log)
    return asyncio.run(serve_forever(settings))


def run_agi(args: argparse.Namespace) -> int:
    """One call on stdio; stdout is the AGI channel, so logs go to stderr only."""
    from agi_callbot.log import setup_logging

    settings = settings_from(args)
    setup_logging(settings.log, stream=sys.stderr)
    return asyncio.run(_classic(settings, args.flow))


async def _classic(settings: Settings, flow: str) -> int:
    from agi_callbot.app import App
    from agi_callbot.transport.stdio import serve_stdio

    app = App(settings, workers=False)
    await app.build()
    try:
        router = app.router

        async def handler(channel):  # type: ignore[no-untyped-def]
            return await router(channel, flow=flow)

        return await serve_stdio(handler, settings.listen)
    finally:
        await app.aclose()
