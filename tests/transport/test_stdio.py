"""Classic AGI on a pair of pipes, as Asterisk runs ``AGI(agi-callbot,agi,FLOW)``."""

from __future__ import annotations

import asyncio
import os

from agi_callbot.channel import Channel
from agi_callbot.errors import ConnectionClosed, Hangup
from agi_callbot.transport.stdio import serve_stdio


async def test_one_call_over_pipes():
    to_bot_r, to_bot_w = os.pipe()
    from_bot_r, from_bot_w = os.pipe()
    seen: list[str] = []

    async def handler(channel: Channel) -> None:
        seen.append(channel.env.script)
        await channel.answer()
        seen.append(await channel.get_variable("X") or "")

    os.write(
        to_bot_w, b"agi_network_script: \nagi_request: /usr/bin/agi-callbot\nagi_arg_1: support\n\n"
    )
    os.write(to_bot_w, b"200 result=0\n200 result=1 (va lue)\n")
    os.close(to_bot_w)
    code = await serve_stdio(handler, read_fd=to_bot_r, write_fd=from_bot_w)
    os.close(from_bot_w)
    assert code == 0
    assert os.read(from_bot_r, 4096) == b'ANSWER\nGET VARIABLE "X"\n'
    assert seen == ["", "va lue"]
    os.close(to_bot_r)
    os.close(from_bot_r)


async def test_stdin_closed_before_the_env_block_ends():
    to_bot_r, to_bot_w = os.pipe()
    os.write(to_bot_w, b"agi_request: x\n")
    os.close(to_bot_w)

    async def handler(channel: Channel) -> None:
        raise AssertionError("must not run")

    assert await asyncio.wait_for(serve_stdio(handler, read_fd=to_bot_r, write_fd=2), 5) == 1
    os.close(to_bot_r)


async def test_a_closed_stdout_is_a_hangup_not_a_flow_bug():
    """Asterisk gone (EPIPE on stdout) raises ConnectionClosed, which unwinds a flow like
    the caller hanging up, the same error every wire raises when its peer is gone."""
    to_bot_r, to_bot_w = os.pipe()
    from_bot_r, from_bot_w = os.pipe()
    os.close(from_bot_r)  # nobody reads what the bot writes
    os.write(to_bot_w, b"agi_network_script: \nagi_request: /usr/bin/agi-callbot\n\n")
    caught: list[BaseException] = []

    async def handler(channel: Channel) -> None:
        try:
            await channel.answer()
        except Exception as exc:
            caught.append(exc)
            raise

    assert await serve_stdio(handler, read_fd=to_bot_r, write_fd=from_bot_w) == 0
    assert len(caught) == 1 and isinstance(caught[0], ConnectionClosed)
    assert isinstance(caught[0], Hangup)
    for fd in (to_bot_r, to_bot_w, from_bot_w):
        os.close(fd)
