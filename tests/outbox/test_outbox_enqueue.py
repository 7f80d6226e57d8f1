"""enqueue: idempotency, number rules, opt-in, skipped reasons (SQLite, real files)."""

from __future__ import annotations

from agi_callbot.outbox.model import idempotency_key
from agi_callbot.outbox.service import Outbox
from agi_callbot.services import Message


def sms(to: str = "+34600111222", **payload: object) -> Message:
    return Message("sms", to, {"text": "hola", **payload}, call_uniqueid="1700.1", flow="soporte")


async def test_same_key_twice_stores_one_row_and_sends_once(outbox: Outbox, gateways) -> None:
    key = idempotency_key("1700.1", "send_link", 0)
    first = await outbox.enqueue(sms(), key)
    second = await outbox.enqueue(sms(text="another text"), key)
    assert first == second
    assert [m.id for m in await outbox.list()] == [first]
    assert await outbox.run_once() == 1
    assert await outbox.run_once() == 0
    assert [k for _, k in gateways["sms"].calls] == ["1700.1/send_link/0"]
    row = await outbox.get(first)
    assert row is not None and row.status == "sent" and row.provider_id == "sms-1"
    assert row.payload == {"text": "hola"}


async def test_enqueue_is_durable_on_return(make_outbox, tmp_path) -> None:
    outbox = await make_outbox()
    id = await outbox.enqueue(sms(), "k1")
    reopened = await make_outbox()
    row = await reopened.get(id)
    assert row is not None and row.status == "queued" and row.to == "+34600111222"


async def test_national_number_is_normalised_with_the_region(make_outbox, gateways) -> None:
    outbox = await make_outbox(region="ES")
    id = await outbox.enqueue(sms("600 111 222"), "k")
    assert (await outbox.get(id)).to == "+34600111222"
    id = await outbox.enqueue(sms("020 7946 0958", region="GB"), "k2")
    assert (await outbox.get(id)).to == "+442079460958"
    await outbox.run_once()
    assert sorted(m.to for m, _ in gateways["sms"].calls) == ["+34600111222", "+442079460958"]


async def test_anonymous_and_bad_numbers_are_skipped_with_a_reason(outbox, gateways) -> None:
    cases = {
        "anonymous": "anonymous caller",
        "": "anonymous caller",
        "Restricted": "anonymous caller",
        "12": "not a valid phone number",
        "+34 abc": "not a valid phone number",
    }
    for n, (raw, reason) in enumerate(cases.items()):
        id = await outbox.enqueue(sms(raw), f"k{n}")
        row = await outbox.get(id)
        assert (row.status, row.reason) == ("skipped", reason), raw
    assert await outbox.run_once() == 0
    assert gateways["sms"].calls == []


async def test_whatsapp_needs_an_opt_in(outbox: Outbox, gateways) -> None:
    wa = Message("whatsapp", "600111222", {"template": "encuesta", "language": "es"})
    skipped = await outbox.enqueue(wa, "wa1")
    assert (await outbox.get(skipped)).reason == "no opt-in"
    assert await outbox.optins.record("+34 600 111 222", "whatsapp", "menu soporte/consent")
    assert await outbox.optins.has("600111222", "whatsapp")
    assert not await outbox.optins.has("600111222", "sms")
    queued = await outbox.enqueue(wa, "wa2")
    assert (await outbox.get(queued)).status == "queued"
    await outbox.run_once()
    assert [k for _, k in gateways["whatsapp"].calls] == ["wa2"]


async def test_opt_in_revoked_before_the_send_is_honoured(outbox: Outbox, gateways) -> None:
    await outbox.optins.record("+34600111222", "whatsapp", "ivr")
    id = await outbox.enqueue(Message("whatsapp", "+34600111222", {"template": "t"}), "wa")
    assert await outbox.optins.revoke("+34600111222", "whatsapp")
    assert not await outbox.optins.has("+34600111222", "whatsapp")
    await outbox.run_once()
    row = await outbox.get(id)
    assert (row.status, row.reason) == ("skipped", "no opt-in")
    assert gateways["whatsapp"].calls == []
    await outbox.optins.record("+34600111222", "whatsapp", "ivr again")
    assert await outbox.optins.has("+34600111222", "whatsapp")


async def test_opt_in_of_an_anonymous_caller_is_not_recorded(outbox: Outbox) -> None:
    assert not await outbox.optins.record("anonymous", "whatsapp", "ivr")
    assert not await outbox.optins.has("anonymous", "whatsapp")


async def test_email_and_webhook_destinations_are_not_phone_numbers(outbox, gateways) -> None:
    mail = await outbox.enqueue(Message("email", "ana@example.com", {"subject": "s"}), "e")
    hook = await outbox.enqueue(Message("webhook", "", {"data": {"a": 1}}), "w")
    empty = await outbox.enqueue(Message("email", " ", {"subject": "s"}), "e2")
    assert (await outbox.get(mail)).to == "ana@example.com"
    assert (await outbox.get(hook)).status == "queued"
    assert ((await outbox.get(empty)).status, (await outbox.get(empty)).reason) == (
        "skipped",
        "no address",
    )
    assert await outbox.run_once() == 2
    assert [m.to for m, _ in gateways["email"].calls] == ["ana@example.com"]
    assert [m.payload for m, _ in gateways["webhook"].calls] == [{"data": {"a": 1}}]


async def test_unknown_channel_is_recorded_failed(outbox: Outbox) -> None:
    id = await outbox.enqueue(Message("fax", "+34600111222", {}), "f")
    row = await outbox.get(id)
    assert (row.status, row.reason) == ("failed", "unknown channel 'fax'")


async def test_a_key_is_required(outbox: Outbox) -> None:
    import pytest

    with pytest.raises(ValueError, match="idempotency key"):
        await outbox.enqueue(sms(), "")


async def test_enqueue_waits_for_a_write_lock_held_elsewhere(tmp_path) -> None:
    """Another connection (another process, classic AGI) holds the write lock: the inline
    insert cannot take it, so the insert goes to the store's thread and waits there."""
    import asyncio
    import sqlite3

    from agi_callbot.outbox.store.sqlite import SqliteStore

    outbox = Outbox(SqliteStore(tmp_path / "locked.sqlite"), {})
    await outbox.open()
    other = sqlite3.connect(tmp_path / "locked.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    asyncio.get_running_loop().call_later(0.2, other.execute, "COMMIT")
    id = await outbox.enqueue(sms(), "while-locked")
    assert not other.in_transaction, "the insert waited for the other writer"
    assert (await outbox.get(id)).status == "queued"
    other.close()
    await outbox.aclose()


async def test_fallback_to_another_kind_of_channel_does_not_inherit_the_number(outbox) -> None:
    message = Message(
        "sms", "anonymous", {"text": "x"}, fallback=({"channel": "email", "subject": "s"},)
    )
    await outbox.enqueue(message, "k")
    rows = {r.key: r for r in await outbox.list()}
    assert (rows["k/fallback/1"].to, rows["k/fallback/1"].reason) == ("", "no address")


async def test_a_payload_that_is_not_json_is_a_clear_error(outbox: Outbox) -> None:
    import pytest

    with pytest.raises(ValueError, match="'k' cannot be stored: its payload or fallback is not"):
        await outbox.enqueue(sms(when={1, 2}), "k")
    assert await outbox.list() == []
