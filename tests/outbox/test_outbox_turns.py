"""The enqueues of one event-loop turn share one SQLite transaction, and lose nothing by it."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from pathlib import Path

import pytest

from agi_callbot.outbox.model import NewMessage
from agi_callbot.outbox.store.sqlite import SqliteStore
from agi_callbot.services import Message

T0 = 1_800_000_000.0


def row(key: str, **fields: object):
    message = Message("sms", "+34600111222", {"text": key})
    stored = NewMessage(key=key, message=message, to=message.to).row(T0)
    return dataclasses.replace(stored, **fields)


@pytest.fixture
async def opened(tmp_path: Path):
    store = SqliteStore(tmp_path / "outbox.sqlite")
    await store.open()
    yield store
    await store.aclose()


def commits(store: SqliteStore) -> list[str]:
    """Every COMMIT the event loop's connection runs from now on."""
    seen: list[str] = []
    assert store._inline is not None
    store._inline.set_trace_callback(lambda sql: seen.append(sql) if sql == "COMMIT" else None)
    return seen


def count(path: Path) -> int:
    other = sqlite3.connect(path)
    try:
        return other.execute("SELECT count(*) FROM outbox").fetchone()[0]
    finally:
        other.close()


async def test_one_turn_of_enqueues_is_one_commit_each_caller_its_own_answer(
    opened, tmp_path
) -> None:
    seen = commits(opened)
    rows = [row(f"k{n}") for n in range(20)]
    again = row("k3")  # the same action re-run in the same turn: the first one's id
    answers = await asyncio.gather(*(opened.insert(r) for r in [*rows, again]))
    assert answers == [(r.id, True) for r in rows] + [(rows[3].id, False)]
    assert seen == ["COMMIT"]
    # committed when the callers got their answers: another connection sees every row
    assert count(tmp_path / "outbox.sqlite") == 20
    # a lone enqueue on a later turn is its own transaction
    lone = row("lone")
    assert await opened.insert(lone) == (lone.id, True)
    assert seen == ["COMMIT", "COMMIT"] and count(tmp_path / "outbox.sqlite") == 21


async def test_a_row_sqlite_refuses_is_that_callers_error_only(opened, tmp_path) -> None:
    good, bad, other = row("good"), row("bad", channel=None), row("other")  # NOT NULL
    answers = await asyncio.gather(
        *(opened.insert(r) for r in (good, bad, other)), return_exceptions=True
    )
    assert answers[0] == (good.id, True) and answers[2] == (other.id, True)
    assert isinstance(answers[1], sqlite3.IntegrityError)
    assert {r.key for r in await opened.list()} == {"good", "other"}


async def test_a_turn_waits_on_the_thread_for_a_lock_held_elsewhere(opened, tmp_path) -> None:
    """Another process holds the write lock: the loop does not wait for it, the thread
    does, and every caller returns once the rows are committed."""
    holder = sqlite3.connect(tmp_path / "outbox.sqlite", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    asyncio.get_running_loop().call_later(0.3, holder.execute, "COMMIT")
    ticks = 0

    async def loop_is_free() -> None:
        nonlocal ticks
        while holder.in_transaction:
            ticks += 1
            await asyncio.sleep(0.01)

    rows = [row(f"k{n}") for n in range(5)]
    *answers, _ = await asyncio.gather(*(opened.insert(r) for r in rows), loop_is_free())
    assert answers == [(r.id, True) for r in rows]
    assert not holder.in_transaction, "the rows waited for the other writer"
    assert ticks >= 10, "the event loop kept running while the thread waited"
    assert count(tmp_path / "outbox.sqlite") == 5
    holder.close()


async def test_rows_of_the_turn_in_progress_are_stored_before_closing(tmp_path) -> None:
    store = SqliteStore(tmp_path / "outbox.sqlite")
    await store.open()
    pending = asyncio.ensure_future(store.insert(row("last")))
    await asyncio.sleep(0)  # the insert is waiting for the end of the turn
    await store.aclose()
    assert (await pending)[1] is True
    assert count(tmp_path / "outbox.sqlite") == 1


async def test_full_synchronous_mode_commits_a_turn_on_the_thread(tmp_path) -> None:
    store = SqliteStore(tmp_path / "outbox.sqlite", synchronous="full")
    await store.open()
    try:
        rows = [row(f"k{n}") for n in range(10)]
        answers = await asyncio.gather(*(store.insert(r) for r in rows))
        assert answers == [(r.id, True) for r in rows]
        assert count(tmp_path / "outbox.sqlite") == 10
    finally:
        await store.aclose()
