"""Event streams: a browser that does not read is dropped (its queue is bounded), the
others go on; the pump runs only while someone listens; shutdown ends every stream."""

from __future__ import annotations

import asyncio
import socket

from aiohttp import web
from aiohttp.test_utils import TestServer

from agi_callbot.console import live
from agi_callbot.console.live import Feed


async def test_a_slow_browser_is_dropped_and_the_others_keep_up():
    looks = 0

    async def snapshot():
        return {"hello": 1}

    async def changes():
        nonlocal looks
        looks += 1
        return []

    feed = Feed("test", snapshot, changes, interval=0.05)
    app = web.Application()
    app.router.add_get("/stream", feed.stream)
    async with TestServer(app) as server:
        # a frozen tab: opens the stream, never reads
        slow = socket.create_connection(("127.0.0.1", server.port))
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        # a reading tab
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        received = 0
        tail = b""

        async def read():
            nonlocal received, tail
            while chunk := await reader.read(1 << 20):
                received += len(chunk)
                tail = (tail + chunk)[-16:]
                if tail.endswith(b"\r\n0\r\n\r\n"):  # the chunked stream's end
                    return

        reading = asyncio.create_task(read())
        for _ in range(100):
            if len(feed.subscribers) == 2:
                break
            await asyncio.sleep(0.02)
        assert len(feed.subscribers) == 2
        big = "x" * 65536
        for _ in range(2000):  # 128 MB for a tab that reads nothing
            feed.publish("calls", big)
            await asyncio.sleep(0.005)  # a pace the reading tab keeps up with
            if feed.dropped:
                break
        assert feed.dropped == 1
        assert len(feed.subscribers) == 1
        queued = sum(s.queue.qsize() for s in feed.subscribers)
        assert queued <= live.QUEUE_SIZE
        await asyncio.sleep(0.2)
        assert received > 65536 and looks > 0  # the reading tab got its events
        await feed.close()
        assert not feed.subscribers
        await asyncio.wait_for(reading, 5)  # its stream ended at shutdown (EventSource reconnects)
        writer.close()
        slow.close()
    await asyncio.sleep(0.1)
    assert feed._pump is None  # nobody listens: no pump
