"""A real loopback HTTP server that plays a messaging provider (shared by the gateway tests)."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from agi_callbot.services import Message


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))


@dataclass
class Canned:
    status: int = 200
    body: Any = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    hang: bool = False


class ProviderServer:
    """Records every request and answers the next canned response (the default when none)."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.queue: deque[Canned] = deque()
        self.default = Canned(200, {"ok": True})
        self.url = ""
        self._release = asyncio.Event()

    def reply(self, status: int = 200, body: Any = None, **kwargs: Any) -> None:
        self.queue.append(Canned(status, body, **kwargs))

    def hang(self) -> None:
        """The next request gets no answer until the test ends (a provider that stalls)."""
        self.queue.append(Canned(hang=True))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                dict(request.query),
                dict(request.headers),
                body,
            )
        )
        canned = self.queue.popleft() if self.queue else self.default
        if canned.hang:
            await self._release.wait()
        if canned.text is not None:
            return web.Response(
                status=canned.status,
                text=canned.text,
                content_type=canned.content_type,
                headers=canned.headers,
            )
        return web.json_response(canned.body, status=canned.status, headers=canned.headers)

    def release(self) -> None:
        self._release.set()


def sms(to: str = "+34600111222", **payload: Any) -> Message:
    return Message("sms", to, {"text": "Soporte Acme: https://acme.example/ayuda", **payload})
