"""The outbox and opt-in routes on a whole node: listing, retry, purge, revoke, and their
refusals; without a node behind the console they say so (503)."""

from __future__ import annotations

import asyncio

import aiohttp

from agi_callbot.app import App
from agi_callbot.services import Message
from tests.console.test_calls import node  # noqa: F401 - the fixture


async def test_outbox_routes(node: App) -> None:  # noqa: F811
    host, port = node.http.addresses[0][:2]
    base = f"http://{host}:{port}"
    headers = {"Authorization": f"Bearer {node.console.guard.token}"}
    outbox = node.outbox
    await outbox.optins.record("+34600111222", "whatsapp", "call 1.1 soporte.consent_yes")
    await outbox.enqueue(Message("sms", "+34600111222", {"text": "hola"}), "k1")
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(base + "/api/outbox") as r:
            data = await r.json()
        (message,) = data["messages"]
        assert (message["channel"], message["to"]) == ("sms", "+34600***222")
        assert message["status"] in ("queued", "sending", "sent")  # the workers send it
        assert sum(data["counts"].values()) == 1
        async with http.get(base + "/api/outbox?status=bogus") as r:
            assert r.status == 400
        async with http.post(base + "/api/outbox/retry", json={"ids": [message["id"]]}) as r:
            assert await r.json() == {"retried": [], "not_retried": [message["id"]]}
        async with http.post(base + "/api/outbox/retry", json={}) as r:
            assert r.status == 400
        async with http.post(base + "/api/outbox/purge", json={"older_than_days": -1}) as r:
            assert r.status == 400
        async with http.post(
            base + "/api/outbox/purge", json={"older_than_days": 0, "statuses": ["queued"]}
        ) as r:
            assert r.status == 400  # messages still to send are never purged
        for _ in range(100):  # the workers send it (dry-run: no SMS provider configured)
            if (await outbox.get(message["id"])).status == "sent":
                break
            await asyncio.sleep(0.05)
        async with http.post(base + "/api/outbox/purge", json={"older_than_days": 1}) as r:
            assert await r.json() == {"purged": 0}  # younger than a day
        async with http.post(base + "/api/outbox/purge", json={"older_than_days": 0}) as r:
            assert await r.json() == {"purged": 1}
        async with http.get(base + "/api/outbox") as r:
            assert (await r.json())["messages"] == []

        async with http.get(base + "/api/optins") as r:
            (entry,) = (await r.json())["optins"]
        assert entry["number"] == "+34600***222" and entry["action"] == "in"
        assert entry["current"] is True and entry["source"] == "call 1.1 soporte.consent_yes"
        async with http.post(base + "/api/optins/revoke", json={"seq": entry["seq"]}) as r:
            assert await r.json() == {"revoked": "+34600***222", "channel": "whatsapp"}
        async with http.post(base + "/api/optins/revoke", json={"seq": 999}) as r:
            assert r.status == 404
        async with http.post(base + "/api/optins/revoke", json={"seq": "1"}) as r:
            assert r.status == 400
        async with http.get(base + "/api/optins") as r:
            revoked, consent = (await r.json())["optins"]
        assert (revoked["action"], revoked["current"], revoked["source"]) == (
            "out",
            True,
            "console",
        )
        assert consent["current"] is False
    assert not await outbox.optins.has("+34600111222", "whatsapp")


async def test_without_a_node_the_outbox_says_so(client, bearer):
    r = await client.get("/api/outbox", headers=bearer)
    assert r.status == 503
    assert "no outbox" in (await r.json())["error"]
    r = await client.get("/api/calls?live=1", headers=bearer)
    assert (await r.json())["calls"] == []
