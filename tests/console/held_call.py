"""A call over a real FastAGI socket that the test holds open at a chosen command.

It is :meth:`MemoryAsterisk.call` with one difference: when the server sends a command
starting with ``hold_at`` (``EXEC Queue``: the caller is waiting for a team), this side
does not answer until ``release`` is set, as a caller on hold keeps the call up.
"""

from __future__ import annotations

import asyncio

from agi_callbot.sim.asterisk import MemoryAsterisk


async def held_call(
    ast: MemoryAsterisk,
    host: str,
    port: int,
    release: asyncio.Event,
    *,
    hold_at: bytes = b"EXEC Queue",
    holding: asyncio.Event | None = None,
    timeout: float = 30.0,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    held = False
    try:
        writer.write(ast.env_block())
        while data := await asyncio.wait_for(reader.read(65536), timeout):
            if not held and any(line.startswith(hold_at) for line in data.split(b"\n")):
                held = True
                if holding is not None:
                    holding.set()
                await release.wait()
            ast.receive(data)
            if out := ast.take_output():
                writer.write(out)
                await writer.drain()
            if ast.eof:
                return
    finally:
        writer.close()
