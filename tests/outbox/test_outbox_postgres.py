"""PostgreSQL specifics: concurrent nodes never double-send; the local spool when it is down."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import pytest
from outbox_loopback import (
    POSTGRES_URL,
    LoopbackGateway,
    ProviderServer,
    clear_postgres,
    needs_postgres,
)

from agi_callbot.config import load_settings
from agi_callbot.errors import ConfigError
from agi_callbot.outbox.model import NewMessage
from agi_callbot.outbox.service import Outbox, open_store
from agi_callbot.outbox.store.postgres import PostgresStore, redact_url, url_password
from agi_callbot.outbox.store.spool import SpooledStore
from agi_callbot.outbox.store.sqlite import SqliteStore
from agi_callbot.services import Message

pytestmark = [pytest.mark.postgres]


@needs_postgres
async def test_two_nodes_claiming_together_never_send_twice(provider: ProviderServer) -> None:
    await clear_postgres()
    nodes = []
    for _ in range(2):
        gateway = LoopbackGateway("sms", provider.url)
        node = Outbox(
            PostgresStore(POSTGRES_URL or ""), {"sms": gateway}, workers=4, poll_interval=0.02
        )
        await node.start()
        nodes.append((node, gateway))
    count = 300
    for n in range(count):
        node = nodes[n % 2][0]
        await node.enqueue(Message("sms", "+34600111222", {"text": str(n)}), f"k{n}")
    await provider.wait_for(count, timeout=60)
    async with asyncio.timeout(30):
        while (await nodes[0][0].counts()).get("sent", 0) < count:
            await asyncio.sleep(0.05)
    for node, gateway in nodes:
        await node.aclose()
        await gateway.aclose()
    keys = [r.key for r in provider.requests]
    assert len(keys) == count and len(set(keys)) == count


async def _black_hole() -> tuple[asyncio.Server, int]:
    """A TCP server that accepts connections and never says a word (a hung PostgreSQL)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        await reader.read()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@needs_postgres
async def test_enqueue_spools_when_postgres_does_not_answer_and_drains_later(
    tmp_path: Path,
) -> None:
    await clear_postgres()
    server, port = await _black_hole()
    spool_path = tmp_path / "outbox-spool.sqlite"
    hung = SpooledStore(
        PostgresStore(
            f"postgresql://callbot:outbox-test-secret@127.0.0.1:{port}/callbot", connect_timeout=1
        ),
        SqliteStore(spool_path),
        timeout=0.2,
    )
    down = Outbox(hung, {}, optin_timeout=0.2)
    await down.open()
    assert "outbox-test-secret" not in hung.description
    ids = [
        await down.enqueue(Message("sms", "+34600111222", {"text": str(n)}), f"k{n}")
        for n in range(3)
    ]
    assert await down.optins.record("+34600111222", "whatsapp", "ivr")
    wa = await down.enqueue(Message("whatsapp", "+34600111222", {"template": "t"}), "wa")
    await down.aclose(grace=0)
    server.close()

    spool = SqliteStore(spool_path)
    await spool.open()
    assert sorted(r.id for r in await spool.take(10)) == sorted([*ids, wa])
    await spool.aclose()

    up = SpooledStore(PostgresStore(POSTGRES_URL or ""), SqliteStore(spool_path), timeout=2)
    back = Outbox(up, {})
    await back.open()
    assert await up.drain() == 5  # four messages and one ledger entry
    assert await up.drain() == 0
    rows = {r.id: r for r in await back.list()}
    assert set(rows) == {*ids, wa}
    assert rows[wa].status == "queued", "the opt-in was known from the spool's ledger"
    assert await back.optins.has("600111222", "whatsapp")
    assert await back.enqueue(Message("sms", "+34600111222", {"text": "0"}), "k0") == ids[0]
    await back.aclose()


@needs_postgres
async def test_a_message_in_both_stores_is_handed_on_once(tmp_path: Path) -> None:
    await clear_postgres()
    up = SpooledStore(
        PostgresStore(POSTGRES_URL or ""), SqliteStore(tmp_path / "spool.sqlite"), timeout=2
    )
    outbox = Outbox(up, {})
    await outbox.open()
    first = await outbox.enqueue(Message("sms", "+34600111222", {"text": "x"}), "same")
    stored = await outbox.get(first)
    await up.spool.insert(dataclasses.replace(stored, id="spooled-copy"))
    assert await up.drain() == 1
    assert [r.id for r in await outbox.list()] == [first]
    await outbox.aclose()


def test_settings_choose_the_store(tmp_path: Path) -> None:
    base = {"data_dir": str(tmp_path)}
    sqlite = open_store(load_settings(overrides=base, environ={}))
    assert isinstance(sqlite, SqliteStore) and sqlite.path == tmp_path / "outbox.sqlite"
    url = "postgresql://callbot:outbox-test-pw@db/callbot"
    pg = open_store(load_settings(overrides={**base, "outbox.store": url}, environ={}))
    assert isinstance(pg, SpooledStore)
    assert pg.spool.path == tmp_path / "outbox-spool.sqlite"
    assert "outbox-test-pw" not in pg.description
    full = open_store(
        load_settings(overrides={**base, "outbox.store": "sqlite?synchronous=full"}, environ={})
    )
    assert isinstance(full, SqliteStore) and full.synchronous == "FULL"
    for bad in ("sqlite?synchronous=off", "sqlite?journal=delete"):
        with pytest.raises(ConfigError, match=r"outbox\.store"):
            open_store(load_settings(overrides={**base, "outbox.store": bad}, environ={}))
    with pytest.raises(ConfigError, match=r"outbox\.store"):
        open_store(load_settings(overrides={**base, "outbox.store": "mysql://x"}, environ={}))
    assert redact_url("postgresql://u:p@h/d") == "postgresql://u:***@h/d"
    assert redact_url("postgresql://u@h/d") == "postgresql://u@h/d"
    assert redact_url("postgresql://u@h/d?password=s3&port=1") == (
        "postgresql://u@h/d?password=***&port=1"
    )
    assert url_password("postgresql://u:p%40ss@h/d") == "p@ss"
    assert url_password("postgresql://u@h/d?password=s3") == "s3"
    assert url_password("postgresql://u@h/d") is None


@needs_postgres
async def test_running_workers_hand_spooled_messages_on_and_deliver_them(tmp_path: Path) -> None:
    from outbox_loopback import ScriptedGateway

    await clear_postgres()
    store = SpooledStore(
        PostgresStore(POSTGRES_URL or ""), SqliteStore(tmp_path / "spool.sqlite"), timeout=2
    )
    gateway = ScriptedGateway("sms")
    outbox = Outbox(store, {"sms": gateway}, poll_interval=0.05)
    await outbox.open()
    spooled = NewMessage(
        key="spooled", message=Message("sms", "+34600111222", {"text": "x"}), to="+34600111222"
    )
    await store.spool.insert(spooled.row(time.time()))
    await outbox.start()
    async with asyncio.timeout(20):
        while (row := await outbox.get(spooled.id)) is None or row.status != "sent":
            await asyncio.sleep(0.05)
    assert [k for _, k in gateway.calls] == ["spooled"]
    assert await store.spool.take(10) == []
    await outbox.aclose()


@needs_postgres
async def test_a_message_stored_by_another_node_wakes_the_workers_at_once() -> None:
    """Node A only enqueues (a classic-AGI process); node B's workers poll once an hour,
    so only PostgreSQL's NOTIFY can get them to send it."""
    from outbox_loopback import ScriptedGateway

    await clear_postgres()
    gateway = ScriptedGateway("sms")
    b = Outbox(PostgresStore(POSTGRES_URL or ""), {"sms": gateway}, poll_interval=3600)
    await b.start()
    await asyncio.sleep(0.3)  # B has claimed nothing and sleeps
    a = Outbox(PostgresStore(POSTGRES_URL or ""), {})
    await a.open()
    for n in range(3):
        await a.enqueue(Message("sms", "+34600111222", {"text": str(n)}), f"from-a/{n}")
    async with asyncio.timeout(20):
        while len(gateway.calls) < 3:
            await asyncio.sleep(0.02)
    assert sorted(k for _, k in gateway.calls) == ["from-a/0", "from-a/1", "from-a/2"]
    await a.aclose()
    await b.aclose()
