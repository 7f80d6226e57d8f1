"""Instructions per AGI command on the wire path, counted rather than timed (issue 15).

    python benchmarks/wire_instructions.py [--concurrency 100]

On a shared machine CPU time moves by ±15 % between runs; instruction counts do not.
Our FastAGI server, wired as the peers benchmark's ``ours`` (metrics observer, settled
memory), runs under ``valgrind --tool=callgrind`` and serves a fixed number of calls of
N NOOPs each; this process plays Asterisk (env block, ``200 result=0`` to each line) at
``--concurrency`` calls. Three runs: 100 calls of 10 NOOPs, 400 of 10, 400 of 20.
Start-up cancels out of the differences:

  per NOOP = (I(400 x 20) - I(400 x 10)) / 4000
  per call = (I(400 x 10) - I(100 x 10)) / 300     (a call of 10 NOOPs, set-up included)

The event loop's batching depends a little on timing, so counts move by ~1 %. Each run
takes about a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))

from loadgen import env_block
from servers import start_ours

RUNS = ((100, 10), (400, 10), (400, 20))


async def serve(calls: int, commands: int) -> None:
    server = await start_ours(commands)  # the peers benchmark's `ours`, as wired there
    print(f"PORT {server.port}", flush=True)
    while server.served < calls or server.calls:
        await asyncio.sleep(0.05)
    await server.shutdown(drain_timeout=1.0)


async def play(port: int, calls: int, concurrency: int) -> None:
    numbers = iter(range(calls))

    async def caller() -> None:
        for n in numbers:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(env_block(n, port))
            while await reader.readline():
                writer.write(b"200 result=0\n")
            writer.close()

    await asyncio.gather(*(caller() for _ in range(concurrency)))


def count(calls: int, commands: int, concurrency: int) -> int:
    """Instructions the server process ran for ``calls`` calls of ``commands`` NOOPs."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
             __file__, "--serve", str(calls), str(commands)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            proc.kill()
            raise RuntimeError(f"the server did not start (said {line!r})")
        asyncio.run(play(int(line.split()[1]), calls, concurrency))
        if proc.wait(timeout=600) != 0:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        for text in out.read_text().splitlines():
            if text.startswith(("summary:", "totals:")):
                return int(text.split()[1])
    raise RuntimeError("no instruction total in the callgrind output")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--serve", nargs=2, type=int, metavar=("CALLS", "COMMANDS"))
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(*args.serve))
        return
    # the server imports this checkout's agi_callbot, whatever is installed
    os.environ["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    totals = {}
    for calls, commands in RUNS:
        totals[calls, commands] = count(calls, commands, args.concurrency)
        print(f"{calls} calls x {commands} NOOPs: {totals[calls, commands]:,} instructions")
    per_noop = (totals[400, 20] - totals[400, 10]) / 4000
    per_call = (totals[400, 10] - totals[100, 10]) / 300
    print(f"per NOOP: {per_noop / 1000:.1f} k instructions")
    print(f"per call of 10 NOOPs (set-up included): {per_call / 1e6:.3f} M instructions")


if __name__ == "__main__":
    main()
