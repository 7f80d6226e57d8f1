"""The FastAGI servers the peers benchmark compares, one per process.

    python benchmarks/peers/servers.py KIND --commands N

KIND is ``baseline`` (bare asyncio streams: ``readline()`` and ``write()`` of a
canned command, no parsing), ``panoramisk`` (``panoramisk.fast_agi.Application``),
``ours`` (``agi_callbot.transport.fastagi``) or ``spawner`` (process-per-call: an
inetd-like loop that starts ``classic_agi.py`` with the connection as its stdin and
stdout). Every handler sends ``NOOP`` N times, reading each reply, then ends the call.
Prints ``PORT <n>`` once listening; SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

BACKLOG = 4096
CLASSIC_SCRIPT = Path(__file__).with_name("classic_agi.py")


async def serve_baseline(commands: int) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (await reader.readline()) not in (b"\n", b""):
                pass
            for _ in range(commands):
                writer.write(b"NOOP\n")
                if not await reader.readline():
                    break
        except OSError:
            pass
        finally:
            writer.close()

    await _run(await asyncio.start_server(handle, "127.0.0.1", 0, backlog=BACKLOG))


async def serve_panoramisk(commands: int) -> None:
    from panoramisk.fast_agi import Application

    async def bench(request) -> None:  # type: ignore[no-untyped-def]
        for _ in range(commands):
            await request.send_command("NOOP")

    # calls cut at the end of a window would each log a traceback
    logging.getLogger("panoramisk").setLevel(logging.CRITICAL)
    app = Application()
    app.add_route("bench", bench)
    await _run(await asyncio.start_server(app.handler, "127.0.0.1", 0, backlog=BACKLOG))


async def serve_ours(commands: int) -> None:
    from agi_callbot import metrics
    from agi_callbot.config import Listen
    from agi_callbot.transport.fastagi import FastAGIServer

    async def bench(channel) -> None:  # type: ignore[no-untyped-def]
        for _ in range(commands):
            await channel.noop()

    # production wiring: every command timed into the Prometheus histogram
    server = FastAGIServer(
        bench,
        Listen(host="127.0.0.1", port=0),
        observer=metrics.observe_command,
        on_refused=metrics.refused,
    )
    await server.start()
    print(f"PORT {server.port}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await server.shutdown(drain_timeout=1.0)


async def _run(server: asyncio.Server) -> None:
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()


def serve_spawner(commands: int) -> None:
    """One ``python classic_agi.py`` per connection, like inetd or Asterisk's AGI()."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=BACKLOG)
    print(f"PORT {listener.getsockname()[1]}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

    def reap() -> None:  # waited-for children add their CPU time to ours (cutime)
        while True:
            try:
                os.wait()
            except ChildProcessError:
                time.sleep(0.01)

    threading.Thread(target=reap, daemon=True).start()
    argv = [sys.executable, str(CLASSIC_SCRIPT), str(commands)]
    while True:
        conn, _ = listener.accept()
        # stderr muted: scripts cut at the end of a window die on a broken pipe
        subprocess.Popen(argv, stdin=conn, stdout=conn, stderr=subprocess.DEVNULL, close_fds=True)
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("baseline", "panoramisk", "ours", "spawner"))
    parser.add_argument("--commands", type=int, default=10)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.kind == "spawner":
        serve_spawner(args.commands)
        return
    serve = {"baseline": serve_baseline, "panoramisk": serve_panoramisk, "ours": serve_ours}
    asyncio.run(serve[args.kind](args.commands))


if __name__ == "__main__":
    main()
