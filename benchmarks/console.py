"""The console costs calls nothing: held calls with and without a busy console, same run.

A server process runs a FastAGI server (20 commands per call, as fastagi_load's
``ours``) and, in the same event loop, the HTTP listener with the console mounted on a
copy of the example flows. This process plays Asterisk: 1000 calls held open with 0.5 s
of "prompt" per command, and measures each command's turnaround (reply sent → next
command received).

0. warm-up: the held calls once, not counted (the first 1000 connections cost more);
1. quiet: the held calls alone (the baseline of this run);
2. busy: the same while another process works the console as admins would — the flows
   list, the designer page, live validation, form edits, the picture, Try it calls —
   as fast as it can, in 4 threads;
3. quiet again: the baseline once more, whose difference from 1 is this run's noise.

Printed: p50/p99 turnaround of the three phases, busy against the mean of the quiet
ones (ratio and difference) beside the quiet phases' own spread; the console's answer times
(client-side, so an upper bound of server time) per route, measured first with no calls;
and Try it's first prompt: the click (the try request) to the first prompt's WAV
received, with a warm prompt cache. Targets (issue 16): p99 difference within noise;
pages and API < 50 ms; first prompt < 300 ms. The generator, the busy client and the
server share the machine's cores: on 2 cores, the busy client competes for CPU with both.

    python benchmarks/console.py [--held 1000] [--think 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fastagi_load import one_call, percentile, raise_nofile, twenty_commands

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-console-token"


# -- the server (child process) ----------------------------------------------------


async def serve(agi_port: int, http_port: int, folder: Path) -> None:
    from aiohttp import web

    from agi_callbot.app import settle_memory
    from agi_callbot.config import Listen, load_settings
    from agi_callbot.console import mount
    from agi_callbot.transport.fastagi import FastAGIServer

    settings = load_settings(
        None,
        overrides={
            "flows_dir": str(folder / "flows"),
            "data_dir": str(folder / "var"),
            "moh_dir": str(folder / "moh"),
            "templates": {"encuesta": {"language": "es", "params": 1}},
        },
        environ={},
    )
    server = FastAGIServer(twenty_commands, Listen(port=agi_port, max_calls=10000))
    await server.start()
    app = web.Application(client_max_size=3 * 1024 * 1024)
    mount(app, settings, token=TOKEN)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", http_port).start()
    settle_memory()  # as `agi-callbot serve` does after start-up
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()  # as serve does: the console's workers are stopped
    await server.shutdown(1.0)


# -- the console client ------------------------------------------------------------


def request(base: str, method: str, path: str, body: object = None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def session_cookie(base: str) -> str:
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(f"{base}/login?token={TOKEN}", timeout=30)
    except urllib.error.HTTPError as exc:
        return exc.headers["Set-Cookie"].split(";")[0]
    raise RuntimeError("login did not answer with a redirect")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def page(base: str, path: str, cookie: str) -> tuple[int, bytes]:
    req = urllib.request.Request(base + path, headers={"Cookie": cookie})
    with urllib.request.urlopen(req, timeout=30) as response:
        return response.status, response.read()


def admin_round(base: str, cookie: str, text: str) -> dict[str, float]:
    """What an admin does in a few seconds of work, each request timed (ms)."""
    times: dict[str, float] = {}

    def timed(label: str, fn, *args) -> bytes:
        started = time.perf_counter()
        status, body = fn(*args)
        times[label] = (time.perf_counter() - started) * 1000
        if status >= 400:
            raise RuntimeError(f"{label}: HTTP {status}: {body[:200]!r}")
        return body

    timed("GET /flows (page)", page, base, "/flows", cookie)
    timed("GET /flows/soporte (page)", page, base, "/flows/soporte", cookie)
    timed("GET /api/flows", request, base, "GET", "/api/flows")
    timed("GET /api/flows/soporte", request, base, "GET", "/api/flows/soporte")
    edited = text.replace("timeout: 5s", "timeout: 6s", 1)
    timed("POST check (live validation)", request, base, "POST", "/api/flows/soporte/check",
          {"yaml": edited})  # fmt: skip
    ops = [{"op": "set", "path": ["blocks", "main_menu", "menu", "retries"], "value": 3}]
    timed("POST edit (form field)", request, base, "POST", "/api/flows/soporte/edit",
          {"yaml": text, "ops": ops})  # fmt: skip
    timed("POST picture", request, base, "POST", "/api/flows/soporte/picture", {"yaml": text})
    body = {"caller": "+34600111222", "caller_name": "Ana", "keys": ["2"]}
    timed("POST try (Try it, key 2)", request, base, "POST", "/api/flows/soporte/try", body)
    return times


def busy(base: str, seconds: float) -> None:
    """Work the console from 4 threads for ``seconds`` (run as a separate process)."""
    cookie = session_cookie(base)
    text = json.loads(request(base, "GET", "/api/flows/soporte")[1])["yaml"]
    deadline = time.monotonic() + seconds
    rounds = [0]

    def worker() -> None:
        while time.monotonic() < deadline:
            admin_round(base, cookie, text)
            rounds[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"rounds": rounds[0]}))


def first_prompt(base: str) -> float:
    """Try it's click → first prompt's WAV received, in ms (cache warm: run once first)."""
    body = {"caller": "+34600111222", "caller_name": "Ana", "keys": []}
    request(base, "POST", "/api/flows/soporte/try", body)
    started = time.perf_counter()
    status, raw = request(base, "POST", "/api/flows/soporte/try", body)
    audio = json.loads(raw)["audio"]
    if status != 200 or not audio:
        raise RuntimeError(f"Try it gave no prompt: {raw[:300]!r}")
    status, wav = request(base, "GET", audio[0])
    if status != 200 or not wav.startswith(b"RIFF"):
        raise RuntimeError(f"the first prompt is not a WAV: HTTP {status}")
    return (time.perf_counter() - started) * 1000


# -- the load generator ----------------------------------------------------------------


async def hold(port: int, calls: int, think: float) -> list[float]:
    turnaround: list[float] = []

    async def staggered(delay: float) -> None:
        await asyncio.sleep(delay)
        await one_call(port, turnaround, think)

    await asyncio.gather(*(staggered(think * i / calls) for i in range(calls)))
    return turnaround


def wait_for(port: int, child: subprocess.Popen[bytes]) -> None:
    import socket

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if child.poll() is not None:
                break
            time.sleep(0.1)
    child.kill()
    raise RuntimeError("the server did not start")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--held", type=int, default=1000)
    parser.add_argument("--think", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=20, help="quiet console rounds timed")
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--busy", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        raise_nofile()
        asyncio.run(serve(int(args.serve[0]), int(args.serve[1]), Path(args.serve[2])))
        return
    if args.busy:
        busy(args.busy[0], float(args.busy[1]))
        return
    raise_nofile()
    folder = Path(tempfile.mkdtemp(prefix="callbot-bench-console-"))
    shutil.copytree(ROOT / "examples" / "flows", folder / "flows")
    (folder / "moh" / "ventas").mkdir(parents=True)
    agi_port, http_port = free_port(), free_port()
    base = f"http://127.0.0.1:{http_port}"
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(agi_port), str(http_port), str(folder)]
    )
    try:
        wait_for(http_port, child)
        wait_for(agi_port, child)
        asyncio.run(one_call(agi_port, [], 0.0))
        report(base, agi_port, args)
    finally:
        child.terminate()
        child.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def report(base: str, agi_port: int, args: argparse.Namespace) -> None:
    cookie = session_cookie(base)
    text = json.loads(request(base, "GET", "/api/flows/soporte")[1])["yaml"]
    admin_round(base, cookie, text)  # warm: prompts rendered, pictures drawn
    samples: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for label, ms in admin_round(base, cookie, text).items():
            samples.setdefault(label, []).append(ms)
    print(f"console answers, no calls ({args.rounds} rounds; client-side, so ≥ server time):")
    for label, values in samples.items():
        print(f"  {label:34s} p50 {statistics.median(values):6.1f} ms   max {max(values):6.1f} ms")
    prompt = [first_prompt(base) for _ in range(5)]
    print(
        f"Try it, click → first prompt WAV (warm cache): median {statistics.median(prompt):.0f} ms"
    )

    duration = args.think * 20 + args.think + 2
    asyncio.run(hold(agi_port, args.held, args.think))  # warm-up: the first 1000 calls
    quiet = asyncio.run(hold(agi_port, args.held, args.think))
    client = subprocess.Popen(
        [sys.executable, __file__, "--busy", base, str(duration)], stdout=subprocess.PIPE
    )
    time.sleep(1.0)  # the console is busy before the calls arrive
    loud = asyncio.run(hold(agi_port, args.held, args.think))
    out, _ = client.communicate(timeout=duration + 60)
    rounds = json.loads(out.decode().strip().splitlines()[-1])["rounds"]
    again = asyncio.run(hold(agi_port, args.held, args.think))
    q99, l99, a99 = percentile(quiet, 99), percentile(loud, 99), percentile(again, 99)
    base99 = (q99 + a99) / 2
    print(f"{args.held} held calls, {args.think} s per command ({len(quiet)} commands per phase):")
    print(f"  console quiet: p50 {percentile(quiet, 50):.2f} ms  p99 {q99:.2f} ms")
    print(
        f"  console busy:  p50 {percentile(loud, 50):.2f} ms  p99 {l99:.2f} ms"
        f"  ({rounds} admin rounds = {rounds * 8} console requests)"
    )
    print(f"  quiet again:   p50 {percentile(again, 50):.2f} ms  p99 {a99:.2f} ms")
    print(
        f"  p99 busy / quiet (mean of both quiet phases): {l99 / base99:.2f};"
        f" busy - quiet {l99 - base99:+.1f} ms; noise (quiet vs quiet again)"
        f" {abs(q99 - a99):.1f} ms"
    )
    print(f"cores: {os.cpu_count()} shared by the server, the call generator and the busy client")


if __name__ == "__main__":
    main()
