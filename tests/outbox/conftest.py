"""Fixtures for the outbox tests: real SQLite files, a real local provider, a test clock."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from loopback import ManualClock, ProviderServer, ScriptedGateway

from agi_callbot.outbox import Outbox
from agi_callbot.outbox.store.sqlite import SqliteStore

POSTGRES_URL = os.environ.get("CALLBOT_TEST_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(
    not POSTGRES_URL, reason="CALLBOT_TEST_POSTGRES_URL is not set (.ci/run sets it)"
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def provider() -> AsyncIterator[ProviderServer]:
    server = ProviderServer()
    await server.start()
    yield server
    await server.stop()


async def _postgres_store() -> Any:
    from agi_callbot.outbox.store.postgres import PostgresStore

    store = PostgresStore(POSTGRES_URL or "")
    await store.open()
    await store.truncate()
    return store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=[needs_postgres])])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """Each store kind, opened on an empty table."""
    if request.param == "sqlite":
        s: Any = SqliteStore(tmp_path / "outbox.sqlite")
        await s.open()
    else:
        s = await _postgres_store()
    yield s
    await s.aclose()


@pytest.fixture
def gateways() -> dict[str, ScriptedGateway]:
    return {c: ScriptedGateway(c) for c in ("sms", "whatsapp", "email", "webhook")}


@pytest.fixture
async def make_outbox(
    tmp_path: Path, clock: ManualClock, gateways: dict[str, ScriptedGateway]
) -> AsyncIterator[Callable[..., Any]]:
    """Build an opened Outbox (SQLite under tmp_path unless a store is given); closed after."""
    made: list[Outbox] = []

    async def make(**kwargs: Any) -> Outbox:
        store = kwargs.pop("store", None) or SqliteStore(tmp_path / "outbox.sqlite")
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
