"""A process for the kill -9 tests: outbox workers, or a loop of enqueues, on a given store.

    python outbox_crash_process.py work STORE PROVIDER_URL LEASE SEND_TIMEOUT
    python outbox_crash_process.py enqueue STORE COUNT PREFIX

STORE is a SQLite file path or a ``postgresql://`` URL. ``work`` prints ``ready`` and
delivers SMS to the loopback provider until SIGTERM (exit 0 after a clean stop);
``enqueue`` prints each id as soon as ``enqueue`` returned it (the acknowledgement a
flow would have had), so the test knows which messages must survive a kill.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

from outbox_loopback import LoopbackGateway

from agi_callbot.outbox.service import Outbox
from agi_callbot.outbox.store.sqlite import SqliteStore
from agi_callbot.services import Message


def store_for(spec: str) -> Any:
    if spec.startswith("postgresql://"):
        from agi_callbot.outbox.store.postgres import PostgresStore

        return PostgresStore(spec)
    return SqliteStore(spec)


async def work(spec: str, url: str, lease: float, send_timeout: float) -> None:
    gateway = LoopbackGateway("sms", url, timeout=60)
    outbox = Outbox(
        store_for(spec),
        {"sms": gateway},
        workers=2,
        lease=lease,
        send_timeout=send_timeout,
        poll_interval=0.05,
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await outbox.start()
    print("ready", flush=True)
    await stop.wait()
    await outbox.aclose()
    await gateway.aclose()


async def enqueue(spec: str, count: int, prefix: str) -> None:
    outbox = Outbox(store_for(spec), {})
    await outbox.open()
    for n in range(count):
        id = await outbox.enqueue(Message("sms", "+34600111222", {"text": str(n)}), f"{prefix}-{n}")
        sys.stdout.write(f"{id}\n")
        sys.stdout.flush()
    await outbox.aclose()


if __name__ == "__main__":
    if sys.argv[1] == "work":
        asyncio.run(work(sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])))
    else:
        asyncio.run(enqueue(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
