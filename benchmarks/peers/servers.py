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
import gc
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


async def start_ours(commands: int):  # type: ignore[no-untyped-def]
    """Our FastAGI server, listening, each call sending ``commands`` NOOPs; wired as in
    production (every command timed into the Prometheus histogram), memory settled as
    `agi-callbot serve` does after start-up. Also benchmarks/wire_instructions.py's."""
    from agi_callbot import metrics
    from agi_callbot.app import settle_memory
    from agi_callbot.config import Listen
    from agi_callbot.transport.fastagi import FastAGIServer

    async def bench(channel) -> None:  # type: ignore[no-untyped-def]
        for _ in range(commands):
            await channel.noop()

    server = FastAGIServer(
        bench,
        Listen(host="127.0.0.1", port=0),
        observer=metrics.observe_command,
        on_refused=metrics.refused,
    )
    await server.start()
    settle_memory()
    return server


async def serve_ours(commands: int, gc_thresholds: tuple[int, ...] = ()) -> None:
    server = await start_ours(commands)
    if gc_thresholds:
        gc.set_threshold(*gc_thresholds)
    pauses = Pauses()
    gc.callbacks.append(pauses)
    print(f"PORT {server.port}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    gc.callbacks.remove(pauses)
    print(f"    ours, collections (thresholds {gc.get_threshold()}): {pauses}", file=sys.stderr)
    await server.shutdown(drain_timeout=1.0)


class Pauses:
    """The garbage collector's pauses by generation (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.by_generation: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self.collected: dict[int, list[int]] = {0: [], 1: [], 2: []}
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.thread_time()
        else:
            self.by_generation[info["generation"]].append(time.thread_time() - self._started)
            self.collected[info["generation"]].append(info["collected"])

    def __str__(self) -> str:
        return "  ".join(
            f"gen{g}: {len(p)}× max {max(p) * 1000:.1f} ms, {sum(p) * 1000:.0f} ms in all,"
            f" {sum(self.collected[g])} objects freed"
            if p
            else f"gen{g}: 0×"
            for g, p in self.by_generation.items()
        )


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
    parser.add_argument("--gc", default="", help="ours: gc.set_threshold(a,b,c) after start-up")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.kind == "spawner":
        serve_spawner(args.commands)
        return
    if args.kind == "ours":
        thresholds = tuple(int(x) for x in args.gc.split(",") if x)
        asyncio.run(serve_ours(args.commands, thresholds))
        return
    serve = {"baseline": serve_baseline, "panoramisk": serve_panoramisk}
    asyncio.run(serve[args.kind](args.commands))


if __name__ == "__main__":
    main()
