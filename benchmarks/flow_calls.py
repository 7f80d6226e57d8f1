"""Per-call cost of the example flows over FastAGI, against a bare asyncio baseline.

    python benchmarks/flow_calls.py [--flows demo,soporte,support] [--concurrency 100]
                                    [--seconds 3] [--repeat 3] [--profile] [--paced 2000]

Each example flow runs with scripted callers (digits pressed, so menus, transfers and
messages happen): ``demo`` → a VIP account to the sales queue, a survey sub-flow with
WhatsApp consent, an e-mail + SMS then voicemail; ``soporte`` and ``support`` → an SMS
link with survey consent, and a queue transfer.

1. The in-memory Asterisk plays each scripted call once against our server, over a
   real socket; every command line and Asterisk's reply are recorded (and the prompts
   rendered: the cache is warm before anything is timed).
2. The load generator (this process) replays those conversations at ``--concurrency``
   calls: env block (a new uniqueid per call), then the recorded reply to each
   command line, at once. Two servers, each in its own process
   (``benchmarks/flow_server.py``), take turns for ``--seconds`` each, ``--repeat``
   times: **ours** (the whole node: router, flows, prompt cache, SQLite outbox and
   call records, metrics, JSON logging) and **baseline** (bare asyncio streams
   sending the same recorded command lines, no parsing). A replayed call whose
   command verbs differ from the recording is counted as a mismatch (expected: 0).

Printed per flow: commands/s, calls/s, server CPU ms per call (``/proc``, event-loop
thread and the SQLite/helper threads apart), for each repeat and the range, and
the ratio ours/baseline of each repeat. ``--profile`` adds a breakdown of our CPU per
call by part (``benchmarks/flow_parts.py``) and the top functions. ``--paced N`` holds
N demo calls open at once, 0.5 s of "prompt" per command: p50/p99 command turnaround,
RSS per call, and the garbage collector's pauses (``gc.callbacks``) in that window.

The generator shares the machine with the servers (and with whatever else runs):
calls/s move with that; CPU per call is steadier. Target (issue 15): ratio >= 0.80 at
100 concurrent calls for every example flow; p99 < 5 ms and RSS < 25 KB per call at
2000 paced calls.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import select
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import flow_parts

SERVER = Path(__file__).with_name("flow_server.py")
#: flow → (caller, digits, queue outcomes, dial outcomes) of its scripted calls
SCENARIOS: dict[str, list[tuple[str, str, dict[str, str], dict[str, str]]]] = {
    "demo": [
        ("+34600111222", "wait:6,1,1,2,3,4,#", {"sales": "answer"}, {}),
        ("+34600111222", "wait:6,1,1,2,#,wait:4,5,5,5,5,5,#,1", {}, {}),
        ("+34600111222", "wait:6,9,2,wait:3,8", {}, {}),
    ],
    "soporte": [
        ("+34600111222", "wait:3,2,wait:3,1", {}, {}),
        ("600111222", "wait:3,1", {"ventas": "answer"}, {}),
    ],
    "support": [
        ("+14155550123", "wait:3,2,wait:3,1", {}, {}),
        ("+14155550123", "wait:3,1", {"sales": "answer"}, {}),
    ],
}
LANGUAGE = {"demo": "en", "soporte": "es", "support": "en"}
#: uniqueids are ``<base>.<n>``; ``n % SLOTS`` names the conversation (for the baseline)
SLOTS = 16


@dataclass
class Conversation:
    env: bytes
    uniqueid: bytes
    lines: list[bytes]
    replies: list[bytes]
    verbs: list[bytes] = field(init=False)

    def __post_init__(self) -> None:
        self.verbs = [line.split(b" ", 1)[0] for line in self.lines]


class Server:
    """A server process and its CPU counters."""

    def __init__(self, kind: str, data_dir: Path, conversations: Path | None, profile: bool):
        self.kind = kind
        self.report = Path(tempfile.mktemp(prefix=f"flowbench-{kind}-", suffix=".json"))
        argv = [sys.executable, str(SERVER), kind, "--data-dir", str(data_dir)]
        argv += ["--report", str(self.report)]
        if conversations is not None:
            argv += ["--conversations", str(conversations)]
        if profile:
            argv.append("--profile")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 120)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"{kind} server did not start (said {line!r})")
        self.port = int(line.split()[1])

    def cpu(self) -> tuple[float, float]:
        """(event-loop thread, other threads) CPU seconds so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        main = others = 0.0
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            try:
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            seconds = (int(fields[11]) + int(fields[12])) / ticks
            if task.name == str(self.proc.pid):
                main += seconds
            else:
                others += seconds
        return main, others

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def stop(self) -> dict[str, object]:
        self.proc.terminate()
        self.proc.wait(30)
        try:
            return json.loads(self.report.read_text())
        finally:
            self.report.unlink(missing_ok=True)


# -- recording and replay --------------------------------------------------------------


async def record(port: int, flow: str, scenario: tuple) -> Conversation:
    from agi_callbot.sim.asterisk import MemoryAsterisk
    from agi_callbot.sim.setup import AsteriskSetup

    caller, digits, queues, dial = scenario
    ast = MemoryAsterisk(
        AsteriskSetup(
            flow,
            callerid=caller,
            language=LANGUAGE[flow],
            caller=digits,
            queues=dict(queues),
            dial=dial,
        )
    )
    env = ast.env_block()
    uniqueid = ast.environment.uniqueid.encode()
    lines, replies = [], []
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(env)
    while line := await asyncio.wait_for(reader.readline(), 60):
        ast.receive(line)
        reply = ast.take_output()
        lines.append(line)
        replies.append(reply)
        writer.write(reply)
        if ast.eof:
            break
    writer.close()
    return Conversation(env, uniqueid, lines, replies)


class Load:
    """Replays conversations; counts calls, commands, mismatches and turnarounds."""

    def __init__(self, conversations: list[Conversation]) -> None:
        self.conversations = conversations
        self.number = 0
        self.calls = self.commands = self.mismatches = 0
        self.turnaround: list[float] = []

    async def call(self, port: int, think: float = 0.0) -> None:
        self.number += 1
        slot = self.number % SLOTS % len(self.conversations)
        conversation = self.conversations[slot]
        uniqueid = b"1795600000.%d" % (self.number * SLOTS + slot)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(conversation.env.replace(conversation.uniqueid, uniqueid))
        sent = time.perf_counter()
        index = 0
        count = len(conversation.lines)
        while line := await reader.readline():
            self.turnaround.append(time.perf_counter() - sent)
            if index < count and line.split(b" ", 1)[0] == conversation.verbs[index]:
                reply = conversation.replies[index]
            else:
                self.mismatches += 1
                reply = b"200 result=0\n"
            index += 1
            if think:
                await asyncio.sleep(think)
            writer.write(reply)
            sent = time.perf_counter()
        writer.close()
        self.calls += 1
        self.commands += index


async def window(
    server: Server, conversations: list[Conversation], concurrency: int, seconds: float
):
    load = Load(conversations)
    deadline = time.perf_counter() + seconds
    # the baseline picks the conversation from the uniqueid, so both replay the same mix
    load.number = 0

    async def worker() -> None:
        while time.perf_counter() < deadline:
            await load.call(server.port)

    main0, others0 = server.cpu()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    main1, others1 = server.cpu()
    calls = max(load.calls, 1)
    return {
        "calls/s": load.calls / elapsed,
        "commands/s": load.commands / elapsed,
        "cpu ms/call": (main1 - main0 + others1 - others0) / calls * 1000,
        "loop ms/call": (main1 - main0) / calls * 1000,
        "threads ms/call": (others1 - others0) / calls * 1000,
        "mismatches": load.mismatches,
    }


async def paced(server: Server, conversations: list[Conversation], calls: int, think: float):
    load = Load(conversations)
    idle = server.rss_kb()

    async def staggered(delay: float) -> None:
        await asyncio.sleep(delay)  # calls arrive spread out over one prompt, as on a PBX
        await load.call(server.port, think)

    tasks = [asyncio.create_task(staggered(think * i / calls)) for i in range(calls)]
    await asyncio.sleep(think * 4)
    peak = server.rss_kb()
    await asyncio.gather(*tasks)
    times = sorted(load.turnaround)
    return {
        "p50 ms": times[len(times) // 2] * 1000,
        "p99 ms": times[int(len(times) * 0.99)] * 1000,
        "max ms": times[-1] * 1000,
        "RSS KB/call": (peak - idle) / calls,
        "mismatches": load.mismatches,
    }


# -- report ----------------------------------------------------------------------------


def spread(values: list[float], fmt: str = "{:.0f}") -> str:
    low, high = min(values), max(values)
    return (
        fmt.format(low)
        if fmt.format(low) == fmt.format(high)
        else (f"{fmt.format(low)}–{fmt.format(high)}")
    )


def pauses_line(report: dict) -> str:
    by_gen: dict[int, list[float]] = {0: [], 1: [], 2: []}
    for generation, seconds in report.get("pauses", []):
        by_gen[int(generation)].append(seconds * 1000)
    return "  ".join(
        f"gen{g}: {len(v)}× max {max(v):.1f} ms total {sum(v):.0f} ms" if v else f"gen{g}: 0×"
        for g, v in by_gen.items()
    )


async def run_flow(flow: str, args: argparse.Namespace, data_dir: Path) -> dict[str, list[float]]:
    ours = Server("ours", data_dir, None, False)
    try:
        conversations = [await record(ours.port, flow, s) for s in SCENARIOS[flow]]
        saved = data_dir / f"{flow}.conversations.json"
        saved.write_text(
            json.dumps([{"lines": [x.decode("latin-1") for x in c.lines]} for c in conversations])
        )
        base = Server("baseline", data_dir, saved, False)
        figures: dict[str, list[float]] = {}
        commands = [len(c.lines) for c in conversations]
        print(f"\n{flow}: {len(conversations)} scripted calls of {commands} AGI commands")
        await window(ours, conversations, args.concurrency, 0.5)  # warm-up
        for repeat in range(args.repeat):
            b = await window(base, conversations, args.concurrency, args.seconds)
            o = await window(ours, conversations, args.concurrency, args.seconds)
            ratio = o["commands/s"] / b["commands/s"]
            cpu_ratio = b["cpu ms/call"] / o["cpu ms/call"]
            for key, value in (("ratio", ratio), ("cpu ratio", cpu_ratio)):
                figures.setdefault(key, []).append(value)
            for side, result in (("baseline", b), ("ours", o)):
                for key, value in result.items():
                    figures.setdefault(f"{side} {key}", []).append(value)
            print(
                f"  run {repeat + 1}: baseline {b['commands/s']:6.0f} cmd/s {b['calls/s']:5.0f}"
                f" calls/s {b['cpu ms/call']:.3f} CPU ms/call | ours {o['commands/s']:6.0f} cmd/s"
                f" {o['calls/s']:5.0f} calls/s {o['cpu ms/call']:.3f} CPU ms/call"
                f" (loop {o['loop ms/call']:.3f}, threads {o['threads ms/call']:.3f})"
                f" | ratio {ratio:.2f}, CPU ratio {cpu_ratio:.2f}"
                + (f" | MISMATCHES {o['mismatches']}" if o["mismatches"] else "")
                + (f" | BASELINE MISMATCHES {b['mismatches']}" if b["mismatches"] else "")
            )
        base.stop()
    finally:
        ours.stop()
    if args.profile:
        profiled = Server("ours", data_dir, None, True)
        await window(profiled, conversations, args.concurrency, args.seconds)
        report = profiled.stop()
        path = str(report["profile"])
        loop_ms = min(figures["ours loop ms/call"])
        print(f"  breakdown of the event-loop thread's {loop_ms:.3f} ms/call (best run), by part:")
        for part, share in flow_parts.shares(path).items():
            print(f"    {part:8} {share * loop_ms:6.3f} ms  {share * 100:5.1f} %")
        threads = min(figures["ours threads ms/call"])
        print(f"    {'threads':8} {threads:6.3f} ms  (SQLite writers of records and outbox)")
        print("  top functions by own time (profiled):")
        for name, share, calls in flow_parts.top(path, 12):
            print(f"    {share * 100:5.1f} %  {calls:8}  {name}")
        if args.keep_profile:
            kept = Path(args.keep_profile).with_suffix(f".{flow}.prof")
            Path(path).replace(kept)
            print(f"  profile kept: {kept} (python -m pstats {kept})")
        else:
            Path(path).unlink(missing_ok=True)
    return figures


async def run_paced(args: argparse.Namespace, data_dir: Path) -> None:
    print(f"\npaced: {args.paced} demo calls open at once, 0.5 s per command")
    ours = Server("ours", data_dir, None, False)
    conversations = [await record(ours.port, "demo", s) for s in SCENARIOS["demo"]]
    saved = data_dir / "demo.conversations.json"
    saved.write_text(
        json.dumps([{"lines": [x.decode("latin-1") for x in c.lines]} for c in conversations])
    )
    base = Server("baseline", data_dir, saved, False)
    for side, server in (("baseline", base), ("ours", ours)):
        result = await paced(server, conversations, args.paced, 0.5)
        report = server.stop()
        print(
            f"  {side:8}: p50 {result['p50 ms']:.2f} ms  p99 {result['p99 ms']:.2f} ms"
            f"  max {result['max ms']:.1f} ms  RSS {result['RSS KB/call']:.1f} KB/call"
            + (f"  MISMATCHES {result['mismatches']}" if result["mismatches"] else "")
        )
        print(f"            collections: {pauses_line(report)}")


async def main(args: argparse.Namespace) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(
        f"flow calls over FastAGI, {args.concurrency} concurrent, {args.seconds:g} s windows,"
        f" {args.repeat} repeats, {os.cpu_count()} cores shared with the load generator"
    )
    summary = []
    with tempfile.TemporaryDirectory(prefix="flowbench-") as folder:
        data_dir = Path(folder)
        for flow in filter(None, args.flows.split(",")):
            figures = await run_flow(flow, args, data_dir)
            summary.append((flow, figures))
        if args.paced:
            await run_paced(args, data_dir)
    print(f"\nsummary at {args.concurrency} concurrent calls (ranges across repeats)")
    print("| flow | baseline cmd/s | ours cmd/s | ours calls/s | ours CPU ms/call | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for flow, f in summary:
        print(
            f"| {flow} | {spread(f['baseline commands/s'])} | {spread(f['ours commands/s'])} |"
            f" {spread(f['ours calls/s'])} | {spread(f['ours cpu ms/call'], '{:.2f}')}"
            f" (baseline {spread(f['baseline cpu ms/call'], '{:.2f}')}) |"
            f" {spread(f['ratio'], '{:.2f}')} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", default="demo,soporte,support")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="breakdown by part")
    parser.add_argument("--keep-profile", metavar="PATH", help="keep the dumps as PATH.<flow>.prof")
    parser.add_argument("--paced", type=int, default=0, help="hold N demo calls (e.g. 2000)")
    asyncio.run(main(parser.parse_args()))
