"""FastAGI load: our server vs a bare asyncio baseline, measured in the same run.

A load generator (this process) plays Asterisk over loopback: it sends the env
block, then answers every command line with a canned reply. The server under test
runs in a child process and handles each call with 20 AGI commands:

- ``ours``: :class:`agi_callbot.transport.fastagi.FastAGIServer` with a handler that
  uses :class:`~agi_callbot.channel.Channel` (ANSWER, 9 × STREAM FILE + SET VARIABLE,
  HANGUP), so parsing, quoting, the state machine and deadlines are all paid for;
- ``baseline``: bare asyncio streams, ``readline()`` and ``write()`` of the next
  canned command, no parsing.

Printed: calls/s, commands/s, p50/p99 command turnaround (reply sent → next command
received, measured by the generator) at 1, 100 and 1000 concurrent calls, the ratio
ours/baseline, and with 0.5 s of "prompt" per command and 1000 calls held open, p99
turnaround and server RSS per call. Targets (issue 3): ratio ≥ 0.80 at 100 calls;
p99 < 5 ms at 1000 held calls; < 25 KB RSS per call. The generator shares the
machine's cores with the server: on 2 cores, turnaround includes its own scheduling.

    python benchmarks/fastagi_load.py [--seconds 3] [--held 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

COMMANDS = 20
ENV = (
    b"agi_network: yes\nagi_network_script: bench\nagi_request: agi://127.0.0.1/bench\n"
    b"agi_channel: PJSIP/trunk-00000001\nagi_language: en\nagi_uniqueid: 1795515630.1\n"
    b"agi_callerid: 15550100\nagi_calleridname: Bench\nagi_dnid: unknown\n\n"
)
REPLIES = {
    b"ANSWER": b"200 result=0\n",
    b"STREAM FILE": b"200 result=0 endpos=16000\n",
    b"SET VARIABLE": b"200 result=1\n",
    b"HANGUP": b"200 result=1\n",
}


# -- servers (child process) ---------------------------------------------------------


async def twenty_commands(channel: Any) -> None:
    """The call every server under test handles: ANSWER, 9 x (STREAM FILE, SET VARIABLE),
    HANGUP."""
    await channel.answer()
    for i in range(9):
        await channel.stream_file("callbot/prompt-welcome", "12")
        await channel.set_variable("CALLBOT_STEP", str(i))
    await channel.hangup()


async def ours(port: int) -> None:
    from agi_callbot.app import settle_memory
    from agi_callbot.config import Listen
    from agi_callbot.transport.fastagi import FastAGIServer

    server = FastAGIServer(twenty_commands, Listen(port=port, max_calls=10000))
    await server.start()
    settle_memory()  # as `agi-callbot serve` does after start-up
    await asyncio.Event().wait()


async def baseline(port: int) -> None:
    lines = [b"ANSWER\n"]
    for i in range(9):
        lines += [
            b'STREAM FILE "callbot/prompt-welcome" "12"\n',
            f'SET VARIABLE "CALLBOT_STEP" "{i}"\n'.encode(),
        ]
    lines.append(b"HANGUP\n")

    async def call(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()) not in (b"\n", b""):
            pass
        for line in lines:
            writer.write(line)
            if not await reader.readline():
                break
        writer.close()

    server = await asyncio.start_server(call, "127.0.0.1", port, backlog=4096, reuse_address=True)
    async with server:
        await server.serve_forever()


def serve(kind: str, port: int) -> None:
    raise_nofile()
    asyncio.run(ours(port) if kind == "ours" else baseline(port))


# -- load generator --------------------------------------------------------------------


def raise_nofile() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def one_call(port: int, turnaround: list[float], think: float) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(ENV)
    sent = time.perf_counter()
    commands = 0
    while True:
        line = await reader.readline()
        if not line:
            break
        turnaround.append(time.perf_counter() - sent)
        commands += 1
        if think:
            await asyncio.sleep(think)
        verb = (
            b" ".join(line.split(b" ", 2)[:2])
            if line.startswith((b"STREAM", b"SET"))
            else line.strip()
        )
        writer.write(REPLIES.get(verb, b"200 result=0\n"))
        sent = time.perf_counter()
    writer.close()
    return commands


async def throughput(port: int, concurrency: int, seconds: float) -> dict[str, float]:
    turnaround: list[float] = []
    calls = commands = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal calls, commands
        while time.perf_counter() < deadline:
            done = await one_call(port, turnaround, 0.0)
            commands += done
            calls += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "calls/s": calls / elapsed,
        "commands/s": commands / elapsed,
        "p50 ms": percentile(turnaround, 50),
        "p99 ms": percentile(turnaround, 99),
    }


async def held(port: int, pid: int, calls: int, think: float) -> dict[str, float]:
    """``calls`` calls at once, ``think`` s per command: turnaround and RSS per call."""
    idle = rss_kb(pid)
    turnaround: list[float] = []

    async def staggered(delay: float) -> int:
        await asyncio.sleep(delay)  # calls arrive spread out, as on a PBX
        return await one_call(port, turnaround, think)

    tasks = [asyncio.create_task(staggered(think * i / calls)) for i in range(calls)]
    await asyncio.sleep(think * COMMANDS / 2)
    peak = rss_kb(pid)
    await asyncio.gather(*tasks)
    return {
        "p50 ms": percentile(turnaround, 50),
        "p99 ms": percentile(turnaround, 99),
        "RSS KB/call": (peak - idle) / calls,
    }


def percentile(values: list[float], pct: int) -> float:
    if not values:
        return float("nan")
    return (
        statistics.quantiles(values, n=100)[pct - 1] * 1000 if len(values) > 1 else values[0] * 1000
    )


def start_server(kind: str, port: int) -> subprocess.Popen[bytes]:
    child = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--port", str(port)])
    deadline = time.monotonic() + 30  # imports are slow on a loaded machine
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return child
        except OSError:
            if child.poll() is not None:
                break
            time.sleep(0.05)
    child.kill()
    raise RuntimeError(f"{kind} server did not start")


async def measure(kind: str, port: int, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    child = start_server(kind, port)
    try:
        await one_call(port, [], 0.0)  # warm-up
        # held calls first, on a fresh process: RSS growth is not hidden by arenas a
        # throughput run already grew
        hold = await held(port, child.pid, args.held, 0.5)
        results = {f"{c} calls": await throughput(port, c, args.seconds) for c in (1, 100, 1000)}
        results[f"{args.held} held"] = hold
        return results
    finally:
        child.terminate()
        child.wait(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per throughput level")
    parser.add_argument("--held", type=int, default=1000, help="calls held open with think time")
    parser.add_argument("--serve", choices=("ours", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    raise_nofile()
    cores = os.cpu_count()
    print(f"FastAGI load, {COMMANDS} commands per call, {cores} cores shared with the generator")
    base = asyncio.run(measure("baseline", 45731, args))
    mine = asyncio.run(measure("ours", 45732, args))
    print(f"{'':14} {'':12} {'baseline':>10} {'ours':>10} {'ratio':>7}")
    for level in base:
        for metric, value in base[level].items():
            ours_value = mine[level][metric]
            ratio = ours_value / value if value else float("nan")
            print(f"{level:14} {metric:12} {value:10.2f} {ours_value:10.2f} {ratio:7.2f}")
    ratio = mine["100 calls"]["calls/s"] / base["100 calls"]["calls/s"]
    p99 = mine[f"{args.held} held"]["p99 ms"]
    rss = mine[f"{args.held} held"]["RSS KB/call"]
    print(
        f"targets: ratio@100 {ratio:.2f} (>= 0.80)  p99@{args.held} held {p99:.2f} ms (< 5)  "
        f"RSS {rss:.1f} KB/call (< 25)"
    )


if __name__ == "__main__":
    main()
