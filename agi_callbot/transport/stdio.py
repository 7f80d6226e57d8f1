"""Classic AGI: Asterisk starts ``agi-callbot agi FLOW`` and talks over stdin/stdout.

Same sans-IO core and Channel as FastAGI. Reads run in a thread (stdin may be a
pipe, a file or a terminal; a thread read works for all of them) and writes go
straight to the file descriptor: replies are short, the pipe never fills.
"""

from __future__ import annotations

import asyncio
import logging
import os

from agi_callbot.channel.deadlines import Timeouts
from agi_callbot.config import Listen
from agi_callbot.errors import ConnectionClosed, SessionNotStarted
from agi_callbot.session import Handler, open_channel, run_session

log = logging.getLogger("agi_callbot.stdio")
READ_SIZE = 65536


class StdioWire:
    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd = read_fd
        self.write_fd = write_fd
        self._closed = False

    async def read(self) -> bytes:
        if self._closed:
            return b""
        try:
            return await asyncio.to_thread(os.read, self.read_fd, READ_SIZE)
        except OSError:
            return b""

    async def write(self, data: bytes) -> None:
        if self._closed:
            raise ConnectionClosed("the AGI session on stdout is closed")
        view = memoryview(data)
        try:
            while view:
                written = os.write(self.write_fd, view)
                view = view[written:]
        except OSError as exc:  # Asterisk closed the pipe (EPIPE) or stdout is gone
            raise ConnectionClosed(f"stdout to Asterisk is closed: {exc.strerror}") from None

    async def aclose(self) -> None:
        self._closed = True


async def serve_stdio(
    handler: Handler, listen: Listen | None = None, *, read_fd: int = 0, write_fd: int = 1
) -> int:
    """Run one call over the given descriptors; 0 when it ran, 1 when the env block failed."""
    listen = listen or Listen()
    wire = StdioWire(read_fd, write_fd)
    try:
        channel = await open_channel(
            wire, env_timeout=float(listen.env_timeout), timeouts=Timeouts.from_listen(listen)
        )
    except SessionNotStarted as exc:
        hint = "" if exc.malformed else " (is this run by Asterisk?)"
        log.warning("no classic AGI call: stdin: %s%s", exc, hint)
        return 1
    await run_session(handler, channel)
    return 0
