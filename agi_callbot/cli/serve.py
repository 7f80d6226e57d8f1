"""``agi-callbot serve`` (FastAGI node) and ``agi-callbot agi FLOW`` (classic AGI)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from agi_callbot.config import Settings, load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser("serve", help="run the FastAGI server, HTTP and outbox workers")
    serve.add_argument("--flows", help="flows folder (settings: flows_dir)")
    serve.add_argument("--host", help="FastAGI bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="FastAGI port (default 4573)")
    serve.add_argument("--http-port", type=int, help="HTTP port for prompts, health, metrics")
    serve.set_defaults(func=run_serve)

    agi = subparsers.add_parser(
        "agi", help="classic AGI: run FLOW for one call on stdin/stdout (AGI(agi-callbot,agi,FLOW))"
    )
    agi.add_argument("flow", help="flow name (overrides agi_network_script)")
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
