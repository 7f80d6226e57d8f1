"""The store contract, on SQLite and PostgreSQL alike: claims, leases, admin, ledger."""

from __future__ import annotations

import pytest

from agi_callbot.outbox.model import NewMessage, fallback_key, new_id
from agi_callbot.services import Message

T0 = 1_800_000_000.0


def row(key: str, now: float = T0, status: str = "queued", **kw: object):
    message = Message("sms", "+34600111222", {"text": key, "n": [1, "ñ"]}, **kw)
    return NewMessage(key=key, message=message, to=message.to, status=status).row(now)


async def test_insert_keeps_every_field_and_ignores_a_second_key(store) -> None:
    first = row("a", call_uniqueid="1700.1", flow="f", block="b", fallback=({"sms": {}},))
    assert await store.insert(first) == (first.id, True)
    assert await store.insert(row("a")) == (first.id, False)
    got = await store.get(first.id)
    assert got == first
    assert got.message().fallback == ({"sms": {}},)
    assert await store.get("nope") is None


async def test_claim_takes_due_rows_once_and_respects_the_limit(store) -> None:
    for n in range(5):
        await store.insert(row(f"k{n}"))
    await store.insert(row("later", now=T0 + 20))
    await store.insert(row("skip", status="skipped"))
    first = await store.claim(T0, 30, 3)
    second = await store.claim(T0, 30, 10)
    assert len(first) == 3 and len(second) == 2
    assert {r.key for r in first} | {r.key for r in second} == {f"k{n}" for n in range(5)}
    assert all(r.status == "sending" and r.attempts == 1 for r in first + second)
    assert all(r.claimed_until == T0 + 30 for r in first)
    assert [r.key for r in await store.claim(T0 + 29, 30, 10)] == ["later"]
    expired = await store.claim(T0 + 30, 30, 10)
    assert len(expired) == 5 and {r.attempts for r in expired} == {2}


async def test_outcomes_are_fenced_by_the_lease(store) -> None:
    await store.insert(row("a"))
    [old] = await store.claim(T0, 10, 1)
    [new] = await store.claim(T0 + 11, 10, 1)
    assert not await store.mark_sent(old, "p-old", T0 + 12)
    assert not await store.mark_retry(old, "x", T0 + 20, T0 + 12)
    assert not await store.release(old, T0 + 12)
    assert await store.mark_sent(new, "p-new", T0 + 12)
    got = await store.get(new.id)
    assert (got.status, got.provider_id, got.claimed_until, got.attempts) == (
        "sent",
        "p-new",
        None,
        2,
    )


async def test_retry_release_and_final_states(store) -> None:
    for key in "abc":
        await store.insert(row(key))
    a, b, c = sorted(await store.claim(T0, 10, 3), key=lambda r: r.key)
    assert await store.mark_retry(a, "HTTP 503", T0 + 8, T0 + 1)
    assert await store.release(b, T0 + 1)
    assert await store.mark_final(c, "failed", "invalid number", T0 + 1)
    got = {r.key: (r.status, r.reason, r.attempts, r.next_attempt_at) for r in await store.list()}
    assert got == {
        "a": ("queued", "HTTP 503", 1, T0 + 8),
        "b": ("queued", "", 0, T0 + 1),
        "c": ("failed", "invalid number", 1, T0 + 10),
    }
    assert await store.next_due() == T0 + 1
    assert await store.counts() == {"queued": 2, "failed": 1}


async def test_requeue_only_touches_failed_and_dead(store) -> None:
    for key in "abc":
        await store.insert(row(key))
    a, b, c = sorted(await store.claim(T0, 10, 3), key=lambda r: r.key)
    await store.mark_final(a, "failed", "x", T0)
    await store.mark_final(b, "dead", "y", T0)
    await store.mark_sent(c, "p", T0)
    assert await store.requeue([c.id, "nope"], T0 + 5) == []
    assert await store.requeue([a.id], T0 + 5) == [a.id]
    assert await store.requeue(None, T0 + 5) == [b.id]
    got = await store.get(b.id)
    assert (got.status, got.attempts, got.reason, got.next_attempt_at) == ("queued", 0, "", T0 + 5)


async def test_purge_deletes_old_rows_of_the_given_statuses(store) -> None:
    for key in "abc":
        await store.insert(row(key))
    a, b, _ = sorted(await store.claim(T0, 10, 3), key=lambda r: r.key)
    await store.mark_sent(a, "p", T0)
    await store.mark_sent(b, "p", T0 + 100)
    assert await store.purge(T0 + 50, ("sent",)) == 1
    assert sorted(r.key for r in await store.list()) == ["b", "c"]
    assert await store.purge(T0 + 1000, ("failed", "dead")) == 0


async def test_list_filters_by_status_newest_first(store) -> None:
    ids = []
    for n in range(4):
        r = NewMessage(key=f"k{n}", message=Message("sms", "x", {}), to="x", id=new_id(T0 + n))
        ids.append((await store.insert(r.row(T0 + n)))[0])
    assert [r.id for r in await store.list(limit=2)] == [ids[3], ids[2]]
    assert await store.list(status="sent") == []
    await store.insert(row("mine", call_uniqueid="1700.5"))
    await store.insert(row("other", call_uniqueid="1700.6"))
    assert [r.key for r in await store.list(call="1700.5")] == ["mine"]
    assert [r.key for r in await store.list(status="queued", call="1700.6")] == ["other"]
    assert await store.list(status="sent", call="1700.6") == []


async def test_delivery_callbacks_find_the_row_by_provider_id(store) -> None:
    await store.insert(row("a"))
    [a] = await store.claim(T0, 10, 1)
    await store.mark_sent(a, "SM123", T0)
    updated = await store.set_delivery("SM123", "failed", "code 63016", T0 + 9)
    assert (updated.id, updated.status, updated.delivery) == (a.id, "sent", "failed")
    assert await store.set_delivery("SM999", "read", "", T0 + 9) is None
    got = await store.get(a.id)
    assert (got.delivery, got.reason, got.updated_at) == ("failed", "code 63016", T0 + 9)


async def test_opt_in_ledger_keeps_history_and_the_newest_entry_wins(store) -> None:
    assert not await store.optin_has("+34600111222", "whatsapp")
    await store.optin_add("+34600111222", "whatsapp", "ivr soporte", "in", T0)
    assert await store.optin_has("+34600111222", "whatsapp")
    await store.optin_add("+34600111222", "whatsapp", "sms STOP", "out", T0 + 10)
    assert not await store.optin_has("+34600111222", "whatsapp")
    await store.optin_add("+34600111222", "whatsapp", "ivr again", "in", T0 + 20)
    assert await store.optin_has("+34600111222", "whatsapp")
    assert not await store.optin_has("+34600111222", "sms")


def test_fallback_keys_count_up() -> None:
    assert fallback_key("1700.1/b/0") == "1700.1/b/0/fallback/1"
    assert fallback_key("1700.1/b/0/fallback/1") == "1700.1/b/0/fallback/2"
    assert fallback_key("x/fallback/9") == "x/fallback/10"


def test_ids_sort_by_creation_time() -> None:
    ids = [new_id(T0 + n / 1000) for n in range(50)]
    assert ids == sorted(ids) and len(set(ids)) == 50


@pytest.mark.parametrize("content", [b"this is not a database" * 100, None])
async def test_an_unusable_database_file_is_a_clear_error(tmp_path, content) -> None:
    from agi_callbot.errors import ConfigError
    from agi_callbot.outbox.store.sqlite import SqliteStore

    path = tmp_path / "outbox.sqlite"
    if content is None:
        path = tmp_path / "a-file" / "outbox.sqlite"  # its folder is a file
        (tmp_path / "a-file").write_text("x")
    else:
        path.write_bytes(content)
    store = SqliteStore(path)
    with pytest.raises(ConfigError, match="cannot open the outbox database"):
        await store.open()
