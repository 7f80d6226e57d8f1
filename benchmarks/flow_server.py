"""The two servers ``benchmarks/flow_calls.py`` compares, one per process.

    python benchmarks/flow_server.py ours|baseline --data-dir DIR --report FILE
                                     [--conversations FILE] [--profile]

- ``ours``: the whole node as ``agi-callbot serve`` builds it from
  ``examples/callbot.yaml`` (FastAGI server, router, flows, prompt cache, SQLite outbox
  and call records, metrics hooks, JSON logging at INFO to ``/dev/null``, ``gc.freeze``
  after start-up), HTTP listener and outbox workers off (delivery is
  ``benchmarks/outbox.py``'s business). The clock is fixed on a Wednesday at 10:00 in
  Madrid so that office hours are open in every run.
- ``baseline``: bare asyncio streams that send the recorded command lines of each
  conversation, ``readline()`` per reply, no parsing: the same AGI exchange with
  nothing behind it. The conversation is chosen by the env block's uniqueid.

Prints ``PORT <n>`` once listening; SIGTERM stops it and writes ``--report`` (JSON):
every garbage collection's generation and pause (``gc.callbacks``) and, with
``--profile``, the path of a cProfile dump of the event-loop thread.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import os
import resource
import signal
import sys
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
#: Wednesday 2026-11-25 10:00 in Madrid: ``hours`` blocks take their open branch
AT = 1795597200.0
BACKLOG = 4096
#: as in flow_calls.py: a uniqueid's number modulo this names its conversation
SLOTS = 16


class Pauses:
    """Every collection's (generation, seconds), from ``gc.callbacks``."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, float]] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.thread_time()
        else:
            self.seen.append((info["generation"], time.thread_time() - self._started))


async def serve_ours(data_dir: Path, profile: bool) -> None:
    from agi_callbot.app import App, settle_memory
    from agi_callbot.config import load_settings
    from agi_callbot.log import setup_logging
    from agi_callbot.sim.simulate import FixedClock

    base = load_settings(EXAMPLES / "callbot.yaml", environ={})
    settings = dataclasses.replace(
        base,
        data_dir=data_dir,
        listen=dataclasses.replace(base.listen, port=0, max_calls=20000),
        http=dataclasses.replace(base.http, enabled=False),
        log=dataclasses.replace(base.log, format="json"),
    )
    setup_logging(settings.log, stream=open(os.devnull, "w"))  # noqa: SIM115 - process-long
    app = App(settings, workers=False)
    await app.start()
    app.services.clock = FixedClock(AT)
    assert app.server is not None
    settle_memory()  # as `agi-callbot serve` does after start-up
    print(f"PORT {app.server.port}", flush=True)
    await stopped(profile)
    await app.aclose()


async def serve_baseline(conversations: Path, profile: bool) -> None:
    lines = [
        [line.encode() for line in conversation["lines"]]
        for conversation in json.loads(conversations.read_text())
    ]

    async def call(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        which = 0
        try:
            while (line := await reader.readline()) not in (b"\n", b""):
                if line.startswith(b"agi_uniqueid: "):
                    # the generator's uniqueids are <base>.<n × SLOTS + conversation>
                    which = int(line.rsplit(b".", 1)[1]) % SLOTS % len(lines)
            for command in lines[which]:
                writer.write(command)
                if not await reader.readline():
                    break
        except OSError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(call, "127.0.0.1", 0, backlog=BACKLOG)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await stopped(profile)


async def stopped(profile: bool) -> None:
    """Wait for SIGTERM, collecting pauses (and a profile) from now on."""
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    pauses = Pauses()
    gc.callbacks.append(pauses)
    profiler = None
    if profile:
        import cProfile

        # thread CPU time, not wall time: a send that wakes the generator on this core
        # must not be charged with the generator's run
        profiler = cProfile.Profile(time.thread_time)
        profiler.enable()
    await stop.wait()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(ARGS.report) + ".prof")
    gc.callbacks.remove(pauses)
    ARGS.report.write_text(
        json.dumps(
            {"pauses": pauses.seen, "profile": str(ARGS.report) + ".prof" if profile else ""}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("ours", "baseline"))
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--report", type=Path, required=True)
    parser.add_argument("--conversations", type=Path)
    parser.add_argument("--profile", action="store_true")
    global ARGS
    ARGS = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if ARGS.kind == "ours":
        asyncio.run(serve_ours(ARGS.data_dir, ARGS.profile))
    else:
        assert ARGS.conversations is not None, "--conversations is required for the baseline"
        asyncio.run(serve_baseline(ARGS.conversations, ARGS.profile))
    sys.stdout.flush()


ARGS: argparse.Namespace

if __name__ == "__main__":
    main()
