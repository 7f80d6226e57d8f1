"""Asterisk's side of FastAGI for the peers benchmark, in its own process.

    python benchmarks/peers/loadgen.py --port P --pid PID --concurrency C [--think S]

``C`` simulated channels, each in a loop: connect, send an env block like Asterisk
22's, answer every command line with ``200 result=0`` (after ``--think`` seconds, the
time a prompt plays; 0 = saturation), until the server closes the connection — that
is one call. Turnaround is the time from our reply (or the env block) to the next
command line: the server's work plus the scheduling delay of both processes.

The server's CPU time and resident memory come from ``/proc/<PID>`` (its children
too with ``--tree``: the process-per-call spawner), read at the start and end of the
measuring window. Calls still open when the window ends are cut. One JSON object is
printed on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import time
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
REPLY = b"200 result=0\n"


def env_block(n: int, port: int) -> bytes:
    """Asterisk 22.10.1's env block (transcript 01) for call ``n``."""
    lines = [
        ("agi_network", "yes"),
        ("agi_network_script", "bench"),
        ("agi_request", f"agi://127.0.0.1:{port}/bench"),
        ("agi_channel", f"PJSIP/1001-{n:08x}"),
        ("agi_language", "es"),
        ("agi_type", "PJSIP"),
        ("agi_uniqueid", f"1700000000.{n}"),
        ("agi_version", "22.10.1"),
        ("agi_callerid", "+34600111222"),
        ("agi_calleridname", "Bench Caller"),
        ("agi_callingpres", "0"),
        ("agi_callingani2", "0"),
        ("agi_callington", "0"),
        ("agi_callingtns", "0"),
        ("agi_dnid", "900100200"),
        ("agi_rdnis", "unknown"),
        ("agi_context", "callbot"),
        ("agi_extension", "900100200"),
        ("agi_priority", "2"),
        ("agi_enhanced", "0.0"),
        ("agi_accountcode", ""),
        ("agi_threadid", "140000000000000"),
    ]
    return "".join(f"{k}: {v}\n" for k, v in lines).encode() + b"\n"


def proc_cpu_s(pid: int) -> float:
    """utime+stime of ``pid`` plus its reaped children (cutime+cstime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / TICK


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


def tree_cpu_s(pid: int, tree: bool) -> float:
    total = proc_cpu_s(pid)
    if tree:
        for child in children(pid):
            try:
                fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except OSError:
        return 0


def tree_rss(pid: int, tree: bool) -> int:
    return rss_bytes(pid) + (sum(rss_bytes(c) for c in children(pid)) if tree else 0)


class Call(asyncio.Protocol):
    """One call on the wire: a Protocol, not streams, so the generator stays cheaper than
    the servers it measures (the servers, not the generator, should be the bottleneck)."""

    def __init__(self, run: Run, env: bytes, done: asyncio.Future[bool]) -> None:
        self.run = run
        self.env = env
        self.done = done
        self.buffer = b""
        self.sent = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.env)  # type: ignore[attr-defined]
        self.sent = time.perf_counter()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\n" in self.buffer:
            _, self.buffer = self.buffer.split(b"\n", 1)
            run = self.run
            if run.measuring:
                run.turnaround.append(time.perf_counter() - self.sent)
                run.commands += 1
            if run.args.think:
                delay = random.uniform(0.5, 1.5) * run.args.think
                asyncio.get_running_loop().call_later(delay, self.reply)
            else:
                self.reply()

    def reply(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(REPLY)
            self.sent = time.perf_counter()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(exc is None)


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.measuring = False
        self.stopping = False
        self.turnaround: list[float] = []
        self.calls = 0
        self.commands = 0
        self.errors: dict[str, int] = {}
        self.serial = 0
        self.peak_rss = 0

    def error(self, name: str) -> None:
        self.errors[name] = self.errors.get(name, 0) + 1

    async def channel(self) -> None:
        """One simulated Asterisk channel: calls back to back until the run stops."""
        args = self.args
        loop = asyncio.get_running_loop()
        while not self.stopping:
            self.serial += 1
            done: asyncio.Future[bool] = loop.create_future()
            env = env_block(self.serial, args.port)
            try:
                await loop.create_connection(
                    lambda env=env, done=done: Call(self, env, done), args.host, args.port
                )
            except OSError as exc:
                self.error(type(exc).__name__)
                await asyncio.sleep(0.05)
                continue
            if not await done:
                self.error("reset")
            elif self.measuring:
                self.calls += 1

    async def sample_rss(self) -> None:
        while True:
            self.peak_rss = max(self.peak_rss, tree_rss(self.args.pid, self.args.tree))
            await asyncio.sleep(0.1)

    async def main(self) -> dict[str, object]:
        args = self.args
        idle_rss = tree_rss(args.pid, args.tree)
        workers = []
        for _ in range(args.concurrency):
            workers.append(asyncio.create_task(self.channel()))
            if args.think:  # spread the first calls so commands do not arrive in lock-step
                await asyncio.sleep(args.think / args.concurrency)
        await asyncio.sleep(args.warmup)
        cpu0, own0 = tree_cpu_s(args.pid, args.tree), resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        self.measuring = True
        sampler = asyncio.create_task(self.sample_rss())
        await asyncio.sleep(args.duration)
        self.measuring = False
        elapsed = time.perf_counter() - start
        cpu1, own1 = tree_cpu_s(args.pid, args.tree), resource.getrusage(resource.RUSAGE_SELF)
        sampler.cancel()
        self.stopping = True
        for task in workers:  # calls still open are cut: the server is stopped next anyway
            task.cancel()
        lat = sorted(self.turnaround)
        server_cpu = cpu1 - cpu0
        # calls counted by commands answered: calls that straddle the window edges count
        # for their share, so long paced calls (N × think seconds) do not quantize the rate
        calls = self.commands / args.commands
        return {
            "concurrency": args.concurrency,
            "think_s": args.think,
            "seconds": elapsed,
            "calls_completed": self.calls,
            "calls": calls,
            "commands": self.commands,
            "calls_per_s": calls / elapsed,
            "p50_ms": 1000 * lat[len(lat) // 2] if lat else None,
            "p99_ms": 1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else None,
            "max_ms": 1000 * lat[-1] if lat else None,
            "server_cpu_s": server_cpu,
            "cpu_per_call_ms": 1000 * server_cpu / calls if calls else None,
            "idle_rss": idle_rss,
            "peak_rss": self.peak_rss,
            "rss_per_call": (self.peak_rss - idle_rss) / args.concurrency,
            "loadgen_cpu_s": (own1.ru_utime + own1.ru_stime) - (own0.ru_utime + own0.ru_stime),
            "errors": self.errors,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True, help="server process to measure")
    parser.add_argument("--tree", action="store_true", help="count the server's children too")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--commands", type=int, default=10, help="commands the server sends")
    parser.add_argument("--think", type=float, default=0.0, help="mean seconds before a reply")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=4.0)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(json.dumps(asyncio.run(Run(args).main())), flush=True)


if __name__ == "__main__":
    main()
