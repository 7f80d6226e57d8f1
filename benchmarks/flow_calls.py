"""Flow engine overhead per call: the example ``soporte`` flow through the in-memory Asterisk.

    python benchmarks/flow_calls.py [--calls 1000] [--concurrency 50]

- **flow call**: a whole ``soporte`` call (6 blocks, 2 menus, SMS + e-mail + WhatsApp
  queued in a real SQLite outbox, an opt-in recorded, the call record written) run by
  the runner against the in-memory Asterisk, warm prompt cache (espeak-ng renders
  happen once, before timing).
- **baseline** (same run): a handler that sends the same number of AGI commands
  through the same Channel and in-memory Asterisk (NOOPs), without the flow engine,
  outbox or records. The ratio is what the engine adds on top of the AGI exchange.

Virtual time: prompts and waits cost nothing here, so the figures are CPU per call,
not call duration. The machine has 2 cores; this runs in one process on one of them.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from agi_callbot.channel import Channel
from agi_callbot.config import load_settings
from agi_callbot.flow.loader import FlowLibrary
from agi_callbot.flow.runner import run_call
from agi_callbot.flow.simulate import SimulationServices
from agi_callbot.router import pin
from agi_callbot.transport.memory import MemoryAsterisk

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPT = "wait:3,2,wait:3,1"


async def timed(calls: int, concurrency: int, one: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    for first in range(0, calls, concurrency):
        await asyncio.gather(*(one() for _ in range(min(concurrency, calls - first))))
    return time.perf_counter() - started


async def main(calls: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = dataclasses.replace(
            load_settings(EXAMPLES / "callbot.yaml", environ={}), data_dir=Path(folder)
        )
        services = SimulationServices(settings, work_dir=Path(folder))
        await services.open()
        flow, subflows = pin(FlowLibrary.from_settings(settings), "soporte")

        async def flow_call() -> int:
            ast = MemoryAsterisk("soporte", callerid="+34600111222", caller=SCRIPT)
            await ast.run(lambda ch: run_call(ch, flow, services, settings, subflows=subflows))
            return len(ast.commands)

        commands = await flow_call()  # renders the prompts: not timed

        async def bare_call() -> None:
            ast = MemoryAsterisk("soporte", callerid="+34600111222")

            async def handler(channel: Channel) -> None:
                for _ in range(commands):
                    await channel.noop()

            await ast.run(handler)

        base = await timed(calls, concurrency, bare_call)
        engine = await timed(calls, concurrency, flow_call)
        await services.aclose()
    print(f"{calls} calls, {concurrency} at a time, {commands} AGI commands per call")
    print(
        f"baseline (same commands, no engine): {calls / base:8.0f} calls/s  "
        f"{base / calls * 1000:6.2f} ms/call"
    )
    print(
        f"soporte flow (engine, outbox, record): {calls / engine:6.0f} calls/s  "
        f"{engine / calls * 1000:6.2f} ms/call  ratio {engine / base:.1f}x baseline"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    options = parser.parse_args()
    asyncio.run(main(options.calls, options.concurrency))
