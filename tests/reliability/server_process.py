"""The FastAGI server under attack, in its own process, as production runs it.

    python tests/reliability/server_process.py [--max-calls N] [--env-timeout S] ...

Starts :class:`agi_callbot.transport.fastagi.FastAGIServer` with the metrics hooks and
JSON logs on stderr, running a flow-shaped handler (answer, prompt, menu input,
variables, a queue, a final message); with ``--app DATA_DIR``, the whole node instead
(:class:`agi_callbot.app.App` serving the example flows). Prints ``PORT <n>`` once
listening and serves until SIGTERM. The tests read its ``/proc`` figures and its log.

The flow-shaped handler tolerates a refused command (510/520) at every step, so any
ERROR line in its log is an exception the transport or the protocol core let escape.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import resource
import signal
from pathlib import Path

from agi_callbot import metrics
from agi_callbot.channel import Channel
from agi_callbot.config import Duration, Listen, Log, load_settings
from agi_callbot.errors import CommandError
from agi_callbot.log import call_context, setup_logging
from agi_callbot.transport.fastagi import FastAGIServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


async def flow(channel: Channel) -> None:
    """One call as a menu flow drives it; every step tolerates a refused command."""
    env = channel.env
    with call_context(uniqueid=env.uniqueid, channel=env.channel, flow="fuzz", version="1"):
        steps = (
            lambda: channel.answer(),
            lambda: channel.set_variable("CALLBOT_STATUS", "FAILED"),
            lambda: channel.stream_file("callbot/welcome", "12"),
            lambda: channel.get_data("callbot/menu", 300, 2),
            lambda: channel.get_variable("CALLERID(name)"),
            lambda: channel.wait_for_digit(300),
            lambda: channel.exec("Queue", "ventas,t,,,5"),
            lambda: channel.set_variable("CALLBOT_STATUS", "COMPLETED"),
            lambda: channel.verbose("fuzz call done", 3),
            lambda: channel.hangup(),
        )
        for step in steps:
            try:
                await step()
            except CommandError:
                continue


async def serve(args: argparse.Namespace) -> None:
    listen = Listen(
        host="127.0.0.1",
        port=0,
        max_calls=args.max_calls,
        env_timeout=Duration(args.env_timeout),
        reply_timeout=Duration(args.reply_timeout),
        media_timeout=Duration(args.reply_timeout),
        exec_timeout=Duration(args.reply_timeout),
        close_timeout=Duration(0.5),
    )
    if args.app:
        await serve_app(args, listen)
        return
    server = FastAGIServer(
        flow, listen, observer=metrics.observe_command, on_refused=metrics.refused
    )
    await server.start()
    print(f"PORT {server.port}", flush=True)
    await until_sigterm()
    await server.shutdown(drain_timeout=1.0)


async def serve_app(args: argparse.Namespace, listen: Listen) -> None:
    """The whole node (router, example flows, prompts, outbox, records) as ``serve`` runs it."""
    from agi_callbot.app import App

    base = load_settings(EXAMPLES / "callbot.yaml", environ={})
    settings = dataclasses.replace(
        base,
        data_dir=Path(args.app),
        listen=listen,
        http=dataclasses.replace(base.http, enabled=False),
        flows=dataclasses.replace(base.flows, reload=False),
    )
    app = App(settings, workers=False)
    await app.start()
    assert app.server is not None
    print(f"PORT {app.server.port}", flush=True)
    await until_sigterm()
    await app.aclose()


async def until_sigterm() -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-calls", type=int, default=5000)
    # short enough that hostile sessions end fast, long enough that a loaded CI machine
    # never cuts a well-behaved (fragmented) call
    parser.add_argument("--env-timeout", type=float, default=1.5)
    parser.add_argument("--reply-timeout", type=float, default=1.5)
    parser.add_argument("--app", metavar="DATA_DIR", help="serve the example flows (whole node)")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    setup_logging(Log(format="json", level="INFO"))
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
