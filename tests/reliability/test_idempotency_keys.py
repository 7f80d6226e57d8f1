"""Issue 14.1: every HTTP gateway sends the outbox's idempotency key, so a send repeated
after a crash (the lease expired) can be recognised by the provider.

Found: after a ``kill -9`` with sends in flight, 0 of 1,079 generic HTTP SMS requests
carried a key; webhooks did.
"""

from __future__ import annotations

import json
import re

import pytest
from loopback_provider import recorder

from agi_callbot.config import load_settings
from agi_callbot.gateways import build_gateways
from agi_callbot.outbox.service import Outbox
from agi_callbot.outbox.store.sqlite import SqliteStore
from agi_callbot.services import Message

#: what the strictest providers accept (Telnyx: 1-255 of these)
SAFE_KEY = re.compile(r"^[A-Za-z0-9_:-]{1,255}$")
OUTBOX_KEY = "1733300000.42:menu:0"  # <uniqueid>:<block>:<action>


def gateways_for(tmp_path, gateways):
    settings = load_settings(
        None,
        overrides={"data_dir": str(tmp_path / "var"), "gateways": gateways},
        environ={},
    )
    return settings, build_gateways(settings)


def sms(to: str = "+34600111222") -> Message:
    return Message("sms", to, {"text": "Hola"})


async def test_http_sms_sends_the_same_key_on_every_attempt(tmp_path) -> None:
    async with recorder() as rec:
        _, gw = gateways_for(tmp_path, {"sms": {"provider": "http", "url": rec.url + "/send"}})
        sms_gw = gw["sms"]
        try:
            await sms_gw.send(sms(), key=OUTBOX_KEY)
            await sms_gw.send(sms(), key=OUTBOX_KEY)
            await sms_gw.send(sms(), key=OUTBOX_KEY[:-1] + "1")
        finally:
            await sms_gw.aclose()
    keys = [s.headers.get("Idempotency-Key") for s in rec.seen]
    assert keys[0] is not None and keys[0] == keys[1] != keys[2]
    assert all(SAFE_KEY.match(k or "") for k in keys)


async def test_key_header_name_is_a_setting_and_placeholder_still_works(tmp_path) -> None:
    async with recorder() as rec:
        conf = {
            "provider": "http",
            "url": rec.url + "/send",
            "idempotency_header": "X-Request-Id",
            "body": {"to": "{to}", "text": "{text}", "ref": "{key}"},
        }
        _, gw = gateways_for(tmp_path, {"sms": conf})
        try:
            await gw["sms"].send(sms(), key=OUTBOX_KEY)
        finally:
            await gw["sms"].aclose()
    (seen,) = rec.seen
    assert "Idempotency-Key" not in seen.headers
    assert SAFE_KEY.match(seen.headers["X-Request-Id"])
    assert json.loads(seen.body)["ref"] == OUTBOX_KEY


async def test_key_header_can_be_turned_off(tmp_path) -> None:
    async with recorder() as rec:
        conf = {"provider": "http", "url": rec.url + "/send", "idempotency_header": "none"}
        _, gw = gateways_for(tmp_path, {"sms": conf})
        try:
            await gw["sms"].send(sms(), key=OUTBOX_KEY)
        finally:
            await gw["sms"].aclose()
    assert not any("idempotency" in h.lower() for h in rec.seen[0].headers)


async def test_whatsapp_cloud_api_carries_the_key_too(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("WA_TOKEN", "wa-token")
    async with recorder() as rec:
        rec.answer = {"messages": [{"id": "wamid.1"}]}
        conf = {
            "provider": "meta",
            "base_url": rec.url,
            "phone_number_id": "7",
            "token_env": "WA_TOKEN",
        }
        _, gw = gateways_for(tmp_path, {"whatsapp": conf})
        try:
            await gw["whatsapp"].send(
                Message("whatsapp", "+34600111222", {"text": "x", "window_open": True}),
                key=OUTBOX_KEY,
            )
        finally:
            await gw["whatsapp"].aclose()
    assert SAFE_KEY.match(rec.seen[0].headers["Idempotency-Key"])


async def test_a_send_repeated_after_a_crash_carries_the_same_key(tmp_path) -> None:
    """The first worker claims and sends, then dies before recording (kill -9): after the
    lease the message is sent again, with the key of the first attempt."""

    class Clock:
        t = 1_800_000_000.0

        def now(self) -> float:
            return self.t

    clock = Clock()
    async with recorder() as rec:
        _, gw = gateways_for(tmp_path, {"sms": {"provider": "http", "url": rec.url + "/send"}})
        store = SqliteStore(str(tmp_path / "outbox.sqlite3"))
        outbox = Outbox(store, gw, clock=clock, send_timeout=15.0)
        await outbox.open()
        try:
            await outbox.enqueue(sms(), key=OUTBOX_KEY)
            (row,) = await store.claim(clock.now(), outbox.lease, 10)
            await gw["sms"].send(row.message(), key=row.key)  # ...and the process dies here
            clock.t += outbox.lease + 0.1
            assert await outbox.workers.run_once() == 1
        finally:
            await outbox.aclose()
            await gw["sms"].aclose()
    first, second = rec.seen
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]


@pytest.mark.parametrize("send_timeout", [5.0, 15.0, 60.0])
def test_the_duplicate_window_is_the_send_deadline_plus_a_margin(tmp_path, send_timeout) -> None:
    """A send is cancelled at its deadline, so the lease need not be twice as long: the
    window in which a dead worker's message waits (and a slow one could be re-sent) is
    the deadline plus a few seconds for recording the outcome."""
    outbox = Outbox(SqliteStore(str(tmp_path / "o.sqlite3")), {}, send_timeout=send_timeout)
    assert send_timeout < outbox.lease <= send_timeout + 5.0
