"""The console's live views cost calls nothing: 1000 held calls, with and without live pages.

A server process runs a FastAGI server and, in the same event loop, the HTTP listener
with the console mounted and the node's :class:`~agi_callbot.active_calls.ActiveCalls`.
Each call does what the flow runner does for the live list: ``started`` when it begins,
a new block before every command (20 commands, so the list changes all the time: the
worst case), ``ended`` at the end. This process plays Asterisk: 1000 calls held open
with 0.5 s of "prompt" per command, measuring each command's turnaround (reply sent →
next command received).

1. quiet: the held calls alone (the baseline of this run);
2. live: the same with the Calls page open in ``--pages`` browser tabs (each reads the
   event stream as fast as it comes) and one slow tab that never reads: the server
   must drop it (bounded queue), not buffer for it without limit.

Printed: p50/p99 turnaround of both phases and their ratio, the events and bytes each
tab received per second, the server's RSS growth, and whether the slow tab was dropped
yet (tests/console/test_live.py drives one to its limit). Target (issue 17): p99
difference within noise.

    python benchmarks/console_live.py [--held 1000] [--think 0.5] [--pages 3]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fastagi_load import COMMANDS, one_call, percentile, raise_nofile, rss_kb

TOKEN = "bench-console-token"


# -- the server (child process) ----------------------------------------------------


class BenchCall:
    """What the live list reads of a call (the runner's Call has the same attributes)."""

    class flow:
        name = "bench"
        version = "0123456789ab"

    def __init__(self, uniqueid: str, caller: str) -> None:
        self.uniqueid = uniqueid
        self.block = "start"
        self.variables = {"caller": caller}


async def serve(agi_port: int, http_port: int) -> None:
    import itertools
    from types import SimpleNamespace

    from aiohttp import web

    from agi_callbot.active_calls import ActiveCalls
    from agi_callbot.app import settle_memory
    from agi_callbot.channel import Channel
    from agi_callbot.config import Listen, load_settings
    from agi_callbot.console import mount
    from agi_callbot.transport.fastagi import FastAGIServer

    active = ActiveCalls()
    numbers = itertools.count(600_000_000)

    async def handler(channel: Channel) -> None:
        call = BenchCall(f"{time.time():.0f}.{next(numbers)}", f"+34{next(numbers)}")
        active.started(call)
        try:
            await channel.answer()
            for i in range(9):
                call.block = f"prompt_{i}"
                await channel.stream_file("callbot/prompt-welcome", "12")
                call.block = f"step_{i}"
                await channel.set_variable("CALLBOT_STEP", str(i))
            await channel.hangup()
        finally:
            active.ended(call)

    settings = load_settings(None, overrides={"data_dir": "/tmp/callbot-bench"}, environ={})
    server = FastAGIServer(handler, Listen(port=agi_port, max_calls=10000))
    await server.start()
    app = web.Application()
    console = mount(app, settings, token=TOKEN, services=SimpleNamespace(active=active))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", http_port).start()
    settle_memory()  # as serve does after start-up
    feed = console.feeds.feeds["calls"]
    while True:
        await asyncio.sleep(1.0)
        print(f"dropped={feed.dropped} subscribers={len(feed.subscribers)}", flush=True)


# -- this process: Asterisk and the browsers ------------------------------------------


async def held(port: int, calls: int, think: float) -> list[float]:
    turnaround: list[float] = []

    async def staggered(delay: float) -> int:
        await asyncio.sleep(delay)
        return await one_call(port, turnaround, think)

    await asyncio.gather(*(staggered(think * i / calls) for i in range(calls)))
    return turnaround


async def tab(port: int, stats: dict[str, float], stop: asyncio.Event) -> None:
    """A browser tab on the Calls page: reads the event stream as it comes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET /api/calls/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    while not stop.is_set():
        try:
            chunk = await asyncio.wait_for(reader.read(65536), 0.5)
        except TimeoutError:
            continue
        if not chunk:
            break
        stats["bytes"] += len(chunk)
        stats["events"] += chunk.count(b"\nevent: ") + chunk.startswith(b"event: ")
    writer.close()


def slow_tab(port: int) -> socket.socket:
    """A tab that opened the stream and never reads it (a frozen or throttled browser)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    request = f"GET /api/calls/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
    sock.sendall(request.encode() + b"\r\n")
    return sock


def start_server(agi_port: int, http_port: int) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(agi_port), str(http_port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", http_port), timeout=0.1):
                return child
        except OSError:
            if child.poll() is not None:
                break
            time.sleep(0.1)
    child.kill()
    raise RuntimeError("server did not start")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def measure(args: argparse.Namespace) -> None:
    agi_port, http_port = free_port(), free_port()
    child = start_server(agi_port, http_port)
    try:
        await one_call(agi_port, [], 0.0)
        idle = rss_kb(child.pid)
        quiet = await held(agi_port, args.held, args.think)
        after_quiet = rss_kb(child.pid)
        stop = asyncio.Event()
        stats = [{"bytes": 0.0, "events": 0.0} for _ in range(args.pages)]
        tabs = [asyncio.create_task(tab(http_port, s, stop)) for s in stats]
        slow = slow_tab(http_port)
        started = time.perf_counter()
        live = await held(agi_port, args.held, args.think)
        elapsed = time.perf_counter() - started
        after_live = rss_kb(child.pid)
        stop.set()
        await asyncio.gather(*tabs)
        slow.close()
    finally:
        child.terminate()
        out, _ = child.communicate(timeout=10)
    last = [line for line in out.splitlines() if line.startswith("dropped=")]
    q99, l99 = percentile(quiet, 99), percentile(live, 99)
    print(f"{args.held} held calls, {args.think} s per command, {COMMANDS} commands per call")
    label = f"live ({args.pages} tabs + 1 slow)"
    print(f"  {'quiet':24} p50 {percentile(quiet, 50):6.2f} ms   p99 {q99:6.2f} ms")
    print(f"  {label:24} p50 {percentile(live, 50):6.2f} ms   p99 {l99:6.2f} ms")
    print(f"  ratio live/quiet p99 {l99 / q99:.2f}")
    for i, s in enumerate(stats):
        print(
            f"  tab {i + 1}: {s['events'] / elapsed:6.1f} events/s, "
            f"{s['bytes'] / elapsed / 1024:7.1f} KB/s"
        )
    print(f"  server RSS: idle {idle} KB, after quiet {after_quiet} KB, after live {after_live} KB")
    print(
        f"  slow tab: {last[-1] if last else 'no report'} (dropped once its socket buffers "
        "and its queue are full; at these rates that takes longer than one run)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--held", type=int, default=1000)
    parser.add_argument("--think", type=float, default=0.5)
    parser.add_argument("--pages", type=int, default=3)
    parser.add_argument("--serve", nargs=2, type=int, metavar=("AGI", "HTTP"))
    args = parser.parse_args()
    raise_nofile()
    if args.serve:
        asyncio.run(serve(*args.serve))
        return
    asyncio.run(measure(args))


if __name__ == "__main__":
    main()
