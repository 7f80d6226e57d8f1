"""kill -9 tests with real processes: mid-send (the lease expires, the message goes out
again with the same key) and mid-enqueue (every acknowledged id is in the store)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from outbox_loopback import POSTGRES_URL, ProviderServer, clear_postgres, needs_postgres

from agi_callbot.outbox.service import Outbox
from agi_callbot.outbox.store.sqlite import SqliteStore
from agi_callbot.services import Message

SCRIPT = Path(__file__).with_name("outbox_crash_process.py")
LEASE = 1.5
SEND_TIMEOUT = 1.0


async def spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        *args,
        stdout=asyncio.subprocess.PIPE,
        cwd=SCRIPT.parent,
    )


async def start_worker(
    spec: str, url: str, lease: float = LEASE, send_timeout: float = SEND_TIMEOUT
) -> asyncio.subprocess.Process:
    proc = await spawn("work", spec, url, str(lease), str(send_timeout))
    assert proc.stdout is not None
    async with asyncio.timeout(30):
        assert await proc.stdout.readline() == b"ready\n"
    return proc


async def kill9(proc: asyncio.subprocess.Process) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    assert await proc.wait() == -signal.SIGKILL


async def until(check: Any, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=[needs_postgres])])
async def spec(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "postgres":
        await clear_postgres()
        yield POSTGRES_URL or ""
    else:
        yield str(tmp_path / "outbox.sqlite")


def open_outbox(spec: str) -> Outbox:
    if spec.startswith("postgresql://"):
        from agi_callbot.outbox.store.postgres import PostgresStore

        return Outbox(PostgresStore(spec), {})
    return Outbox(SqliteStore(spec), {})


async def test_kill_9_mid_send_then_restart_delivers_with_the_same_key(
    spec: str, provider: ProviderServer
) -> None:
    outbox = open_outbox(spec)
    await outbox.open()
    id = await outbox.enqueue(Message("sms", "+34600111222", {"text": "hola"}), "1700.1/b/0")
    provider.hold = True
    worker = await start_worker(spec, provider.url)
    await provider.wait_for(1)
    await kill9(worker)
    row = await outbox.get(id)
    assert (row.status, row.attempts) == ("sending", 1), "killed in the middle of the send"

    provider.release()
    worker = await start_worker(spec, provider.url)

    async def sent() -> bool:
        return (await outbox.get(id)).status == "sent"

    await until(sent)
    worker.send_signal(signal.SIGTERM)
    assert await worker.wait() == 0, "SIGTERM stops the workers cleanly"
    row = await outbox.get(id)
    assert row.attempts == 2 and row.provider_id and row.provider_id.startswith("prov-")
    assert [r.key for r in provider.requests] == ["1700.1/b/0", "1700.1/b/0"]
    await outbox.aclose()


async def _kill_rounds(spec: str, provider: ProviderServer, count: int, rounds: int) -> None:
    outbox = open_outbox(spec)
    await outbox.open()
    keys = [f"call-{n}/b/0" for n in range(count)]
    for n, key in enumerate(keys):
        await outbox.enqueue(Message("sms", "+34600111222", {"text": str(n)}), key)
    for r in range(rounds):
        provider.hold_again()
        worker = await start_worker(spec, provider.url)
        await provider.wait_for(len(provider.requests) + 1)
        await asyncio.sleep(0.02 * r)  # kill at different points: claims, sends, records
        await kill9(worker)
    provider.release()
    worker = await start_worker(spec, provider.url)

    async def all_sent() -> bool:
        return (await outbox.counts()).get("sent", 0) == count

    await until(all_sent, timeout=120)
    worker.send_signal(signal.SIGTERM)
    assert await worker.wait() == 0
    received = [r.key for r in provider.requests]
    assert set(received) == set(keys), "every message reached the provider"
    assert len(received) >= count
    await outbox.aclose()


@pytest.mark.slow
async def test_repeated_kill_9_loses_nothing(spec: str, provider: ProviderServer) -> None:
    await _kill_rounds(spec, provider, count=40, rounds=6)


async def _enqueue_and_kill(spec: str, after: int, prefix: str = "key") -> None:
    proc = await spawn("enqueue", spec, "100000", prefix)
    assert proc.stdout is not None
    acknowledged: list[str] = []
    async with asyncio.timeout(60):
        while len(acknowledged) < after:
            acknowledged.append((await proc.stdout.readline()).decode().strip())
    await kill9(proc)
    rest = (await proc.stdout.read()).decode().split()
    acknowledged += [i for i in rest if len(i) == 20]  # lines written before the kill
    outbox = open_outbox(spec)
    await outbox.open()
    missing = [i for i in acknowledged if await outbox.get(i) is None]
    assert missing == []
    await outbox.aclose()


async def test_kill_9_during_enqueues_keeps_every_acknowledged_message(spec: str) -> None:
    await _enqueue_and_kill(spec, after=200)


@pytest.mark.slow
async def test_kill_9_during_enqueues_repeatedly(spec: str) -> None:
    for after in (1, 50, 500, 2000):
        await _enqueue_and_kill(spec, after, prefix=f"round-{after}")


async def test_two_worker_processes_on_one_store_send_each_message_once(
    spec: str, provider: ProviderServer
) -> None:
    """Two processes claim from the same SQLite file (``serve`` and ``outbox work`` on one
    machine) or the same PostgreSQL database: every message goes out exactly once."""
    outbox = open_outbox(spec)
    await outbox.open()
    # No process dies here, so no send may time out either: a send that outlives its
    # deadline is retried (at least once, same key) and would look like a double claim.
    # Deadlines a loaded CI machine cannot miss keep this test about claiming alone.
    workers = [
        await start_worker(spec, provider.url, lease=60.0, send_timeout=30.0) for _ in range(2)
    ]
    count = 300
    for n in range(count):
        await outbox.enqueue(Message("sms", "+34600111222", {"text": str(n)}), f"k{n}")

    async def all_sent() -> bool:
        return (await outbox.counts()).get("sent", 0) == count

    await until(all_sent, timeout=120)
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
        assert await worker.wait() == 0
    keys = [r.key for r in provider.requests]
    assert sorted(keys) == sorted(f"k{n}" for n in range(count))
    assert {r.sender for r in provider.requests} == {str(w.pid) for w in workers}, "both took part"
    await outbox.aclose()


async def test_messages_another_process_enqueues_go_out_without_a_full_poll(
    tmp_path: Path, provider: ProviderServer
) -> None:
    """Classic AGI: each call is a process that only enqueues; ``outbox work`` delivers.
    The workers poll once an hour here, so only the SQLite change check can wake them."""
    from outbox_loopback import LoopbackGateway

    spec = str(tmp_path / "outbox.sqlite")
    gateway = LoopbackGateway("sms", provider.url)
    outbox = Outbox(SqliteStore(spec), {"sms": gateway}, poll_interval=3600)
    await outbox.start()
    await asyncio.sleep(0.3)  # the dispatcher is asleep, the poll an hour away
    proc = await spawn("enqueue", spec, "3", "agi-call")
    assert await proc.wait() == 0
    received = await provider.wait_for(3, timeout=30)
    assert sorted(r.key for r in received) == ["agi-call-0", "agi-call-1", "agi-call-2"]
    await outbox.aclose()
    await gateway.aclose()
