"""Fixtures for the outbox tests: real SQLite files, a real local provider, a test clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from outbox_loopback import (
    POSTGRES_URL,
    ManualClock,
    ProviderServer,
    ScriptedGateway,
    clear_postgres,
    needs_postgres,
)

from agi_callbot.outbox.service import Outbox
from agi_callbot.outbox.store.sqlite import SqliteStore


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def provider() -> AsyncIterator[ProviderServer]:
    server = ProviderServer()
    await server.start()
    yield server
    await server.stop()


STORE_KINDS = [
    "sqlite",
    "sqlite-full",  # synchronous=FULL: every statement on the store's thread, none inline
    pytest.param("postgres", marks=[needs_postgres, pytest.mark.postgres]),
]


@pytest.fixture(params=STORE_KINDS)
async def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Any]:
    """Make an unopened store of each kind; PostgreSQL tables are emptied first."""
    if request.param == "postgres":
        from agi_callbot.outbox.store.postgres import PostgresStore

        await clear_postgres()
        return lambda: PostgresStore(POSTGRES_URL or "")
    sync = "FULL" if request.param == "sqlite-full" else "NORMAL"
    return lambda: SqliteStore(tmp_path / "outbox.sqlite", synchronous=sync)


@pytest.fixture
async def store(new_store: Callable[[], Any]) -> AsyncIterator[Any]:
    """An opened store of each kind, on an empty table."""
    s = new_store()
    await s.open()
    yield s
    await s.aclose()


@pytest.fixture
def gateways() -> dict[str, ScriptedGateway]:
    return {c: ScriptedGateway(c) for c in ("sms", "whatsapp", "email", "webhook")}


@pytest.fixture
async def make_outbox(
    new_store: Callable[[], Any], clock: ManualClock, gateways: dict[str, ScriptedGateway]
) -> AsyncIterator[Callable[..., Any]]:
    """Build an opened Outbox on each store kind (unless a store is given); closed after."""
    made: list[Outbox] = []

    async def make(**kwargs: Any) -> Outbox:
        store = kwargs.pop("store", None) or new_store()
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("rand", lambda: 0.5)
        kwargs.setdefault("workers", 2)
        outbox = Outbox(store, kwargs.pop("gateways", gateways), **kwargs)
        await outbox.open()
        made.append(outbox)
        return outbox

    yield make
    for outbox in made:
        await outbox.aclose(grace=0)


@pytest.fixture
async def outbox(make_outbox: Callable[..., Any]) -> Outbox:
    return await make_outbox()
