"""Outbox rows into SQLite: the INSERT values of a row, and a loop turn's rows together.

``SqliteStore.insert`` gathers the rows enqueued in one turn of the event loop and
writes them here in one transaction: one WAL append and one commit for the lot (a
busy node enqueues dozens per turn; each alone paid its own commit). Each caller's
``enqueue`` returns only once that commit is done, so a row is as durable as before
when it returns. A row SQLite refuses is that row's outcome; the others are stored.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from typing import Any

from agi_callbot.outbox.model import StoredMessage, column_values
from agi_callbot.outbox.store import INSERT_ROW, SELECT_BY_KEY

#: what one row's insert comes to: (id, newly inserted), or SQLite's refusal of that row
Inserted = tuple[str, bool] | sqlite3.Error
#: a row on its way: (INSERT values, idempotency key, the caller's future)
Pending = tuple[tuple[Any, ...], str, "asyncio.Future[tuple[str, bool]]"]

#: ``json.dumps(…, ensure_ascii=False, separators=(",", ":"))`` without a new encoder each time
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def qmark(sql: str) -> str:
    """The stores' shared SQL (``%s`` placeholders) in SQLite's ``?`` style."""
    return sql.replace("%s", "?")


def insert_values(row: StoredMessage) -> tuple[Any, ...]:
    """The INSERT's values; raises TypeError/ValueError for a payload that is not JSON."""
    return column_values(row, _JSON)


def insert_one(db: sqlite3.Connection, values: tuple[Any, ...], key: str) -> tuple[str, bool]:
    """One row, or the id of the row already stored under ``key`` (a re-run action)."""
    if db.execute(qmark(INSERT_ROW), values).rowcount == 1:
        return values[0], True
    found = db.execute(qmark(SELECT_BY_KEY), (key,)).fetchone()
    return found[0], False


def insert_many(db: sqlite3.Connection, rows: list[tuple[tuple[Any, ...], str]]) -> list[Inserted]:
    """Rows in one transaction (one commit); a row SQLite refuses is that row's outcome.

    The write lock is taken first (``BEGIN IMMEDIATE``): on the event loop's connection
    (``busy_timeout = 0``) a file locked by another process fails here, before any row.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        outcomes: list[Inserted] = []
        for values, key in rows:
            try:
                outcomes.append(insert_one(db, values, key))
            except (sqlite3.IntegrityError, sqlite3.InterfaceError) as exc:
                outcomes.append(exc)
        db.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise
    return outcomes


def outcomes_of(db: sqlite3.Connection, rows: list[tuple[tuple[Any, ...], str]]) -> list[Any]:
    """:func:`insert_many`, a failure of the whole transaction being every row's outcome."""
    try:
        return insert_many(db, rows)
    except Exception as exc:
        return [exc] * len(rows)


def settle(turn: list[Pending], outcomes: list[Any] | asyncio.Future[list[Any]]) -> None:
    """Hand each caller its row's outcome (``outcomes``: a list, or the thread's job)."""
    if isinstance(outcomes, asyncio.Future):
        cancelled = outcomes.cancelled()
        outcomes = [asyncio.CancelledError()] * len(turn) if cancelled else outcomes.result()
    for (_, _, stored), outcome in zip(turn, outcomes, strict=True):
        if stored.done():
            continue  # the caller gave up waiting; the row is stored all the same
        if isinstance(outcome, BaseException):
            stored.set_exception(outcome)
        else:
            stored.set_result(outcome)
