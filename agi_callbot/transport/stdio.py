"""Classic AGI: Asterisk starts ``agi-callbot agi FLOW`` and talks over stdin/stdout.

Same sans-IO core and Channel as FastAGI. Reads run in a thread (stdin may be a
pipe, a file or a terminal; a thread read works for all of them) and writes go
straight to the file descriptor: replies are short, the pipe never fills.
"""

from __future__ import annotations

import asyncio
import logging
import os

from agi_callbot.agi.connection import Connection
from agi_callbot.channel import Channel, Timeouts
from agi_callbot.config import Listen
from agi_callbot.errors import ProtocolError
from agi_callbot.transport.fastagi import Handler, read_environment, run_call

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
        view = memoryview(data)
        while view:
            written = os.write(self.write_fd, view)
            view = view[written:]

    async def aclose(self) -> None:
        self._closed = True


async def serve_stdio(
    handler: Handler, listen: Listen | None = None, *, read_fd: int = 0, write_fd: int = 1
) -> int:
    """Run one call over the given descriptors; 0 when it ran, 1 when the env block failed."""
    listen = listen or Listen()
    wire = StdioWire(read_fd, write_fd)
    connection = Connection()
    try:
        env = await read_environment(connection, wire, float(listen.env_timeout))
    except TimeoutError:
        log.warning(
            "no AGI environment on stdin within %ss: is this run by Asterisk?", listen.env_timeout
        )
        return 1
    except ProtocolError as exc:
        log.warning("bad AGI environment on stdin: %s", exc)
        return 1
    if env is None:
        log.warning("stdin closed before the end of the AGI environment")
        return 1
    channel = Channel(connection, wire, timeouts=Timeouts.from_listen(listen))
    await run_call(handler, channel)
    return 0
