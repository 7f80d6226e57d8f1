"""Outbox benchmarks: enqueue latency from a call, delivery throughput to a loopback provider.

    python benchmarks/outbox.py [--enqueues 5000] [--messages 3000] [--postgres URL]

- **enqueue latency** (SQLite, WAL): ``Outbox.enqueue`` — the rules (E.164), the hop to
  the store's thread, one INSERT committed — measured idle and *while the workers are
  busy delivering*, with ``synchronous=NORMAL`` (the default) and ``FULL``. Baseline in
  the same run: a bare ``sqlite3`` INSERT + COMMIT of the same row on the same kind of
  file, called directly (no rules, no thread hop). Target: < 1 ms.
- **delivery throughput**: messages due at one instant, delivered by the workers
  through the real webhook gateway (httpx) to an aiohttp provider running in its own
  process on loopback. Baseline in the same run: bare httpx POSTs to that provider with
  the same concurrency, no outbox. Target: ≥ 500 msg/s on SQLite.
- **PostgreSQL** (``--postgres`` or ``CALLBOT_TEST_POSTGRES_URL``): enqueue latency, and
  throughput with two worker processes claiming with ``FOR UPDATE SKIP LOCKED``.

The machine has 2 cores shared by the benchmark, the provider process (and PostgreSQL):
figures are for that, and the ratios are what carries over to other machines.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from agi_callbot.config import load_settings
from agi_callbot.gateways import build_gateways
from agi_callbot.outbox.model import NewMessage
from agi_callbot.outbox.service import Outbox
from agi_callbot.outbox.store.sqlite import SqliteStore
from agi_callbot.services import Message

PROVIDER = """
import sys
from aiohttp import web
n = 0
async def send(request):
    global n
    await request.read()
    n += 1
    return web.json_response({"id": f"p{n}"})
app = web.Application()
app.router.add_post("/hook", send)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None,
            print=lambda *a: print("ready", flush=True))
"""


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def line(name: str, samples: list[float], base: list[float] | None = None) -> None:
    ms = [s * 1000 for s in samples]
    text = f"  {name:<46} p50 {statistics.median(ms):6.3f} ms   p99 {pct(ms, 0.99):6.3f} ms"
    if base:
        ratio = statistics.median(samples) / statistics.median(base)
        text += f"   ×{ratio:5.1f} baseline p50"
    print(text, flush=True)


def message(n: int) -> Message:
    return Message("webhook", "", {"data": {"n": n, "caller": "+34600111222"}}, "1700.1", "f", "b")


def bare_sqlite(path: Path, count: int, sync: str) -> list[float]:
    """The baseline: INSERT one row and COMMIT, nothing else."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {sync}")
    conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, key TEXT UNIQUE, payload TEXT, at REAL)")
    samples = []
    for n in range(count):
        started = time.perf_counter()
        conn.execute(
            "INSERT INTO t VALUES (?, ?, ?, ?)", (f"id{n}", f"k{n}", '{"text":"x"}', time.time())
        )
        samples.append(time.perf_counter() - started)
    conn.close()
    return samples


async def enqueue_samples(outbox: Outbox, count: int, prefix: str) -> list[float]:
    samples = []
    for n in range(count):
        started = time.perf_counter()
        await outbox.enqueue(message(n), f"{prefix}/{n}")
        samples.append(time.perf_counter() - started)
    return samples


def settings_for(root: Path, url: str, store: str = "sqlite", workers: int = 8) -> Any:
    return load_settings(
        None,
        overrides={
            "data_dir": str(root),
            "outbox.store": store,
            "outbox.workers": workers,
            "gateways": {"webhook": {"url": url}},
        },
        environ={},
    )


async def throughput(outbox: Outbox, count: int, prefix: str) -> float:
    """Store ``count`` rows due two seconds from now; time from then until all are sent."""
    due = time.time() + 2.0
    rows = [
        NewMessage(key=f"{prefix}/{n}", message=message(n), to="").row(due) for n in range(count)
    ]
    insert_many = getattr(outbox.store, "insert_many", None)
    if insert_many is not None:  # PostgreSQL: one transaction
        await insert_many(rows)
    else:
        for row in rows:
            await outbox.store.insert(row)
    if time.time() >= due:
        print("  (warning: storing the rows took longer than the head start)", flush=True)
    while time.time() < due:
        await asyncio.sleep(0.001)
    outbox.wake()
    started = time.perf_counter()
    while (await outbox.counts()).get("sent", 0) < count:
        await asyncio.sleep(0.01)
    return count / (time.perf_counter() - started)


async def bare_http(url: str, count: int, concurrency: int) -> float:
    async with httpx.AsyncClient() as client:
        queue = list(range(count))
        started = time.perf_counter()

        async def worker() -> None:
            while queue:
                n = queue.pop()
                (await client.post(url, json={"n": n}, headers={"Idempotency-Key": str(n)})).json()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - started)


async def sqlite_figures(root: Path, url: str, enqueues: int, messages: int) -> None:
    print("enqueue latency, SQLite (WAL):", flush=True)
    base = bare_sqlite(root / "bare.sqlite", enqueues, "NORMAL")
    line("baseline: bare INSERT + COMMIT (NORMAL)", base)
    base_full = bare_sqlite(root / "bare-full.sqlite", enqueues, "FULL")
    line("baseline: bare INSERT + COMMIT (FULL)", base_full, base)

    settings = settings_for(root / "idle", url)
    outbox = Outbox.from_settings(settings, build_gateways(settings))
    await outbox.open()
    line("Outbox.enqueue, idle (NORMAL)", await enqueue_samples(outbox, enqueues, "idle"), base)
    await outbox.aclose()

    settings = settings_for(root / "busy", url)
    gateways = build_gateways(settings)
    outbox = Outbox.from_settings(settings, gateways)
    await outbox.open()
    for n in range(messages):  # a backlog keeps the 8 workers busy while we measure
        await outbox.store.insert(NewMessage(key=f"backlog/{n}", message=message(n), to="").row(0))
    await outbox.start()
    busy = await enqueue_samples(outbox, enqueues, "busy")
    line("Outbox.enqueue, 8 workers delivering (NORMAL)", busy, base)
    await outbox.aclose(grace=5)

    full = SqliteStore(root / "full" / "outbox.sqlite", synchronous="FULL")
    outbox = Outbox(full, {})
    await outbox.open()
    line("Outbox.enqueue, idle (FULL)", await enqueue_samples(outbox, enqueues, "full"), base)
    await outbox.aclose()
    for gateway in gateways.values():
        await gateway.aclose()

    print("delivery throughput to a loopback provider (webhook gateway, httpx):", flush=True)
    base_rate = await bare_http(url, messages, 8)
    print(f"  baseline: bare httpx POSTs, 8 concurrent         {base_rate:7.0f} msg/s", flush=True)
    for workers in (4, 8):
        settings = settings_for(root / f"tp{workers}", url, workers=workers)
        gateways = build_gateways(settings)
        outbox = Outbox.from_settings(settings, gateways)
        await outbox.start()
        rate = await throughput(outbox, messages, "tp")
        await outbox.aclose()
        for gateway in gateways.values():
            await gateway.aclose()
        print(
            f"  outbox on SQLite, {workers} workers                       {rate:7.0f} msg/s"
            f"   ({rate / base_rate:.0%} of baseline)",
            flush=True,
        )


async def postgres_figures(root: Path, url: str, pg: str, enqueues: int, messages: int) -> None:
    import psycopg

    async with await psycopg.AsyncConnection.connect(pg, autocommit=True) as conn:
        await conn.execute("DROP TABLE IF EXISTS outbox, optins")
    print("PostgreSQL:", flush=True)
    settings = settings_for(root / "pg", url, store=pg)
    outbox = Outbox.from_settings(settings, {})
    await outbox.open()
    base = await enqueue_samples(outbox, 200, "warm")
    base = await enqueue_samples(outbox, enqueues, "pg")
    line("Outbox.enqueue, idle (one INSERT on a pool)", base)
    await outbox.store.purge(time.time() + 1, ("queued",))
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--work", pg, url, str(root / f"w{n}")],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    rate = await throughput(outbox, messages, "pg-tp")
    print(f"  2 worker processes × 4 workers (SKIP LOCKED)      {rate:7.0f} msg/s", flush=True)
    for proc in procs:
        proc.terminate()
        proc.wait(30)
    await outbox.aclose()


async def work(pg: str, url: str, root: str) -> None:
    """A worker process for the PostgreSQL figure (until SIGTERM)."""
    import signal

    settings = settings_for(Path(root), url, store=pg, workers=4)
    outbox = Outbox.from_settings(settings, build_gateways(settings))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await outbox.start()
    print("ready", flush=True)
    await stop.wait()
    await outbox.aclose()


async def main(args: argparse.Namespace) -> None:
    port = 18000 + os.getpid() % 1000
    provider = subprocess.Popen(
        [sys.executable, "-c", PROVIDER, str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert provider.stdout is not None and provider.stdout.readline().strip() == "ready"
        url = f"http://127.0.0.1:{port}/hook"
        with tempfile.TemporaryDirectory(prefix="callbot-bench-outbox-") as tmp:
            await sqlite_figures(Path(tmp), url, args.enqueues, args.messages)
            pg = args.postgres or os.environ.get("CALLBOT_TEST_POSTGRES_URL")
            if pg:
                await postgres_figures(Path(tmp), url, pg, args.enqueues, args.messages)
            else:
                print("PostgreSQL: skipped (no --postgres and no CALLBOT_TEST_POSTGRES_URL)")
    finally:
        provider.terminate()
        provider.wait(10)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--work":
        asyncio.run(work(sys.argv[2], sys.argv[3], sys.argv[4]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enqueues", type=int, default=5000)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--postgres", help="PostgreSQL URL (its outbox tables are dropped first)")
    asyncio.run(main(parser.parse_args()))
