"""Real parts for the outbox tests: a local HTTP provider and gateways that talk to it.

``ProviderServer`` is an aiohttp server on 127.0.0.1 that records every request (with
its ``Idempotency-Key`` header), answers from a script of statuses, and can *hold*
requests (never answer) so a test can kill the sending process mid-send.
``LoopbackGateway`` implements the gateway protocol over httpx against it, mapping
5xx/429/timeouts to retryable errors and other 4xx to permanent ones, the way the
real provider gateways do. ``ScriptedGateway`` fails a given number of times, then
succeeds, without any network (for backoff arithmetic).

``needs_postgres`` and ``clear_postgres`` serve the tests that run against the database
``CALLBOT_TEST_POSTGRES_URL`` names. This file is imported by the tests and by the
worker processes they start (a plain module, not conftest: ``conftest`` is a name every
test folder has).
"""

from __future__ import annotations

import asyncio
import itertools
import os
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web

from agi_callbot.errors import GatewayError
from agi_callbot.gateways import Sent
from agi_callbot.services import Message


@dataclass
class Received:
    key: str
    body: dict[str, Any]
    sender: str = ""  # the sending process (X-Sender-Pid), for multi-process tests


@dataclass
class ProviderServer:
    """A provider on loopback: ``POST /send`` with a JSON body."""

    #: statuses to answer, in order; when empty, 200
    script: list[int] = field(default_factory=list)
    hold: bool = False
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._arrived = asyncio.Condition()
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/send", self._send)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/send"
        return self.url

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def release(self) -> None:
        """Answer held requests and stop holding new ones."""
        self.hold = False
        self._release.set()

    def hold_again(self) -> None:
        """Answer the requests held so far; hold the next ones."""
        self._release.set()
        self._release = asyncio.Event()
        self.hold = True

    async def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.requests) >= count)
        return self.requests

    async def _send(self, request: web.Request) -> web.Response:
        body = await request.json()
        async with self._arrived:
            key = request.headers.get("Idempotency-Key", "")
            sender = request.headers.get("X-Sender-Pid", "")
            self.requests.append(Received(key, body, sender))
            self._arrived.notify_all()
        if self.hold:
            await self._release.wait()
        status = self.script.pop(0) if self.script else 200
        if status == 200:
            return web.json_response({"id": f"prov-{next(self._ids)}"})
        if status == 400:
            return web.json_response(
                {"error": {"code": 21211, "message": "invalid To"}}, status=400
            )
        return web.Response(status=status, text="<html>upstream error</html>")


class LoopbackGateway:
    """A gateway over httpx to a :class:`ProviderServer`."""

    provider = "loopback"

    def __init__(self, channel: str, url: str, timeout: float = 30.0) -> None:
        self.channel = channel
        self.url = url
        self._client = httpx.AsyncClient(timeout=timeout)

    async def send(self, message: Message, *, key: str) -> Sent:
        body = {"channel": message.channel, "to": message.to, "payload": message.payload}
        try:
            headers = {"Idempotency-Key": key, "X-Sender-Pid": str(os.getpid())}
            response = await self._client.post(self.url, json=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise GatewayError(f"timeout: {exc}", retryable=True) from exc
        except httpx.TransportError as exc:
            raise GatewayError(f"cannot reach the provider: {exc}", retryable=True) from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise GatewayError("provider unavailable", retryable=True, status=status)
        if status >= 400:
            code = str(response.json()["error"]["code"])
            raise GatewayError(
                "provider refused the message", retryable=False, status=status, code=code
            )
        return Sent(response.json()["id"], self.provider)

    async def aclose(self) -> None:
        await self._client.aclose()


class ScriptedGateway:
    """Raises the given errors in order, then succeeds; records every (message, key)."""

    provider = "scripted"

    def __init__(self, channel: str, errors: list[BaseException] | None = None) -> None:
        self.channel = channel
        self.errors = list(errors or [])
        self.calls: list[tuple[Message, str]] = []

    async def send(self, message: Message, *, key: str) -> Sent:
        self.calls.append((message, key))
        if self.errors:
            raise self.errors.pop(0)
        return Sent(f"{self.channel}-{len(self.calls)}", self.provider)

    async def aclose(self) -> None:
        return None


class ManualClock:
    """A clock the test moves: backoff and lease expiry without waiting."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.t = now

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


POSTGRES_URL = os.environ.get("CALLBOT_TEST_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(
    not POSTGRES_URL, reason="CALLBOT_TEST_POSTGRES_URL is not set (.ci/run sets it)"
)


async def clear_postgres() -> None:
    """Empty the shared test database's outbox tables (each test starts from nothing)."""
    import psycopg

    from agi_callbot.outbox.store.postgres import PostgresStore

    setup = PostgresStore(POSTGRES_URL or "")
    await setup.open()  # creates the tables on a fresh database
    await setup.aclose()
    async with await psycopg.AsyncConnection.connect(POSTGRES_URL or "", autocommit=True) as conn:
        await conn.execute("TRUNCATE outbox, optins")
