"""Server-sent events for the console's live views (calls in progress, teams).

One :class:`Feed` per topic. Its pump runs only while a browser listens: it wakes when
the source says something changed (or every ``interval`` seconds), asks the source
what changed, and hands each event to every subscriber's own bounded queue. A browser
that does not keep up (its queue is full) is dropped, not buffered without limit:
its stream ends and the page's ``EventSource`` reconnects and starts again from a
fresh snapshot. Nothing here runs on a call's path: the calls only mark the source
as changed; the pump reads it later, in the console's own time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

log = logging.getLogger("agi_callbot.console")

#: events waiting for one browser before it counts as too slow and is dropped
QUEUE_SIZE = 64
#: browsers on one feed at once (each tab opens one stream per live page)
MAX_SUBSCRIBERS = 200
#: a comment line this often, so a proxy keeps the stream open and a gone peer shows
KEEPALIVE_S = 15.0
#: changes within this long are sent as one event
COALESCE_S = 0.1

Event = tuple[str, Any]


@dataclass(eq=False)
class Subscriber:
    queue: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    task: asyncio.Task[Any] | None = None
    dropped: bool = False


def encode(event: str, data: Any) -> bytes:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"event: {event}\ndata: {text}\n\n".encode()


class Feed:
    """A topic's subscribers and its pump.

    ``snapshot()`` is what a new browser gets first; ``changes()`` what happened since
    the last call (a list of ``(event, data)``). ``wake`` (optional) is an
    :class:`asyncio.Event` the source sets when something changed.
    """

    def __init__(
        self,
        name: str,
        snapshot: Callable[[], Awaitable[Any]],
        changes: Callable[[], Awaitable[list[Event]]],
        *,
        interval: float = 1.0,
        wake: asyncio.Event | None = None,
        min_gap: float = COALESCE_S,
    ) -> None:
        self.name = name
        self.snapshot = snapshot
        self.changes = changes
        self.interval = interval
        self.wake = wake
        self.min_gap = min_gap
        self.subscribers: set[Subscriber] = set()
        self.dropped = 0
        self._pump: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ publishing

    def publish(self, event: str, data: Any) -> None:
        if not self.subscribers:
            return
        payload = encode(event, data)
        for sub in list(self.subscribers):
            try:
                sub.queue.put_nowait(payload)
            except asyncio.QueueFull:
                self.drop(sub)

    def drop(self, sub: Subscriber) -> None:
        """A browser too slow for the feed: end its stream (it reconnects afresh)."""
        self.subscribers.discard(sub)
        sub.dropped = True
        self.dropped += 1
        if sub.task is not None and sub.task is not asyncio.current_task():
            sub.task.cancel()
        log.info("console: a slow browser was dropped from the %s feed", self.name)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last = 0.0
        try:
            while self.subscribers:
                if self.wake is not None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.wake.wait(), self.interval)
                    # what changes within min_gap goes out as one event
                    await asyncio.sleep(max(COALESCE_S, self.min_gap - (loop.time() - last)))
                    self.wake.clear()
                    last = loop.time()
                else:
                    await asyncio.sleep(self.interval)
                if not self.subscribers:
                    break
                try:
                    events = await self.changes()
                except Exception:
                    log.exception("console: the %s feed could not read its source", self.name)
                    continue
                for event, data in events:
                    self.publish(event, data)
        finally:
            self._pump = None

    def _ensure_pump(self) -> None:
        if self._pump is None:
            self._pump = asyncio.create_task(self._run(), name=f"console feed {self.name}")

    async def close(self) -> None:
        """Server shutdown: end every stream now (aiohttp would wait for them)."""
        for sub in list(self.subscribers):
            self.drop(sub)
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump

    # ------------------------------------------------------------------ the HTTP side

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """``GET …/stream``: ``text/event-stream``, a ``snapshot`` then changes."""
        if len(self.subscribers) >= MAX_SUBSCRIBERS:
            return web.json_response({"error": "too many live pages open"}, status=503)
        sub = Subscriber(task=asyncio.current_task())
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        try:
            first = await self.snapshot()
            # the pump's next changes() are relative to what the feed last sent; a
            # subscriber joining in between gets them on top of its snapshot (idempotent)
            self.subscribers.add(sub)
            self._ensure_pump()
            await response.write(b"retry: 1000\n\n" + encode("snapshot", first))
            while not sub.dropped:
                try:
                    payload = await asyncio.wait_for(sub.queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    payload = b": keepalive\n\n"
                await response.write(payload)
        except (asyncio.CancelledError, ConnectionResetError):
            pass
        finally:
            self.subscribers.discard(sub)
        return response


class Feeds:
    """Every feed of one console; closed at server shutdown."""

    def __init__(self) -> None:
        self.feeds: dict[str, Feed] = {}

    def add(self, feed: Feed) -> Feed:
        self.feeds[feed.name] = feed
        return feed

    async def close(self, app: web.Application | None = None) -> None:
        for feed in self.feeds.values():
            await feed.close()
