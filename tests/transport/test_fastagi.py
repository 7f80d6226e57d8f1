"""FastAGI over real loopback sockets: calls, bad peers, limits, shutdown."""

from __future__ import annotations

import asyncio
import time

import pytest

from agi_callbot.channel import Channel
from agi_callbot.config import Listen
from agi_callbot.errors import Hangup
from agi_callbot.transport.fastagi import FastAGIServer

ENV = (
    b"agi_network: yes\nagi_network_script: demo?language=en\nagi_uniqueid: 17.1\n"
    b"agi_callerid: 600111222\n\n"
)


class Recorder:
    """A call handler that plays one prompt and remembers what happened."""

    def __init__(self) -> None:
        self.results: list[object] = []
        self.hangups = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, channel: Channel) -> None:
        self.started.set()
        try:
            await channel.answer()
            self.results.append(await channel.stream_file("hello", "12"))
            await self.release.wait()
            await channel.set_variable("CALLBOT_STATUS", "COMPLETED")
        except Hangup:
            self.hangups += 1
            await channel.set_variable("CALLBOT_STATUS", "HANGUP")
            raise


@pytest.fixture
async def server():
    servers: list[FastAGIServer] = []

    async def start(handler, **listen) -> FastAGIServer:
        listen.setdefault("port", 0)
        srv = FastAGIServer(handler, Listen(**listen))
        await srv.start()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        await srv.shutdown(1)


async def exchange(port: int, replies: list[bytes]) -> list[bytes]:
    """Play Asterisk: send the env block, answer each command line with the next reply."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(ENV)
    lines = []
    for reply in replies:
        line = await asyncio.wait_for(reader.readline(), 5)
        if not line:
            break
        lines.append(line)
        writer.write(reply)
    lines.append(await asyncio.wait_for(reader.read(), 5))
    writer.close()
    return lines


async def closed(reader: asyncio.StreamReader) -> bool:
    """The server closed: EOF, or a reset when it closed with our env block unread."""
    try:
        return await asyncio.wait_for(reader.read(), 3) == b""
    except ConnectionResetError:
        return True


async def test_a_call_runs_the_handler_and_quotes_arguments(server):
    recorder = Recorder()
    srv = await server(recorder)
    lines = await exchange(
        srv.port, [b"200 result=0\n", b"200 result=49 endpos=100\n", b"200 result=1\n"]
    )
    assert lines == [
        b"ANSWER\n",
        b'STREAM FILE "hello" "12"\n',
        b'SET VARIABLE "CALLBOT_STATUS" "COMPLETED"\n',
        b"",
    ]
    assert recorder.results[0].digit == "1"


async def test_hangup_notice_then_variables_still_work(server):
    recorder = Recorder()
    srv = await server(recorder)
    lines = await exchange(
        srv.port,
        [
            b"200 result=0\n",
            b"200 result=-1 endpos=1200\nHANGUP\n",
            b"511 Command Not Permitted on a dead channel or intercept routine\n",
            b"200 result=1\n",
        ],
    )
    assert lines[2] == b"CHANNEL STATUS\n"
    assert lines[3] == b'SET VARIABLE "CALLBOT_STATUS" "HANGUP"\n'
    assert recorder.hangups == 1


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"agi_network: yes\n",
        b"agi_network: yes\nagi_netw",
        b"\n",
        b"garbage without colon\n\n",
        b"agi_x: " + b"a" * 70000,
    ],
)
async def test_bad_or_early_closed_env_ends_that_call_only(server, data):
    recorder = Recorder()
    srv = await server(recorder)
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    writer.write(data)
    writer.write_eof()
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    assert not recorder.started.is_set()
    assert await exchange(
        srv.port, [b"200 result=0\n", b"200 result=0 endpos=8000\n", b"200 result=1\n"]
    )


async def test_close_in_the_middle_of_a_command_does_not_spin(server):
    recorder = Recorder()
    srv = await server(recorder)
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    writer.write(ENV)
    await reader.readline()
    writer.write(b"200 result=0\n")
    await reader.readline()
    writer.close()
    cpu = time.process_time()
    for _ in range(50):
        if not srv.calls:
            break
        await asyncio.sleep(0.01)
    assert not srv.calls
    assert recorder.hangups == 1
    assert time.process_time() - cpu < 0.4  # pyst2/panoramisk spin at 100 % here


async def test_garbage_reply_ends_the_call_and_the_server_goes_on(server):
    recorder = Recorder()
    srv = await server(recorder)
    lines = await exchange(srv.port, [b"200 result=0\n", b"999 what\n"])
    assert lines[-1] == b""
    assert await exchange(
        srv.port, [b"200 result=0\n", b"200 result=0 endpos=8000\n", b"200 result=1\n"]
    )


async def test_env_deadline_closes_a_silent_connection(server):
    srv = await server(Recorder(), env_timeout=0.2)
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    writer.write(b"agi_network: yes\n")
    assert await asyncio.wait_for(reader.read(), 3) == b""
    writer.close()


async def test_reply_deadline_for_quick_commands(server):
    recorder = Recorder()
    srv = await server(recorder, reply_timeout=0.2)
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    writer.write(ENV)
    assert await reader.readline() == b"ANSWER\n"
    assert await asyncio.wait_for(reader.read(), 3) == b""
    writer.close()


async def test_connection_limit_refuses_with_a_log_line(server, caplog):
    recorder = Recorder()
    recorder.release.clear()
    srv = await server(recorder, max_calls=1)
    first = asyncio.create_task(
        exchange(srv.port, [b"200 result=0\n", b"200 result=0 endpos=1\n", b"200 result=1\n"])
    )
    await recorder.started.wait()
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    writer.write(ENV)
    assert await closed(reader)
    writer.close()
    assert "max_calls" in caplog.text
    recorder.release.set()
    assert (await first)[-2] == b'SET VARIABLE "CALLBOT_STATUS" "COMPLETED"\n'


async def test_shutdown_drains_then_cancels(server):
    recorder = Recorder()
    recorder.release.clear()
    srv = await server(recorder)
    call = asyncio.create_task(
        exchange(srv.port, [b"200 result=0\n", b"200 result=0 endpos=1\n", b"200 result=1\n"])
    )
    await recorder.started.wait()
    await asyncio.sleep(0.05)
    port = srv.port
    started = time.monotonic()
    await srv.shutdown(0.2)
    assert time.monotonic() - started < 3
    assert not srv.calls
    await asyncio.wait_for(call, 3)
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)


async def test_many_concurrent_calls(server):
    recorder = Recorder()
    srv = await server(recorder)
    replies = [b"200 result=0\n", b"200 result=0 endpos=8000\n", b"200 result=1\n"]
    results = await asyncio.gather(*(exchange(srv.port, replies) for _ in range(200)))
    assert all(r[-2] == b'SET VARIABLE "CALLBOT_STATUS" "COMPLETED"\n' for r in results)
    assert srv.served == 200


def test_default_bind_is_loopback():
    assert Listen().host == "127.0.0.1"


async def test_early_close_at_every_byte_of_the_env_block(server):
    recorder = Recorder()
    srv = await server(recorder)
    for cut in range(len(ENV)):
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        writer.write(ENV[:cut])
        writer.write_eof()
        assert await closed(reader), cut
        writer.close()
    for _ in range(100):
        if not srv.calls:
            break
        await asyncio.sleep(0.01)
    assert not srv.calls
    assert not recorder.started.is_set()


async def test_slow_client_one_byte_at_a_time(server):
    recorder = Recorder()
    srv = await server(recorder)
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)

    async def trickle(data: bytes) -> None:
        for byte in data:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0)

    await trickle(ENV)
    lines = []
    for reply in (b"200 result=0\n", b"200 result=50 endpos=4000\n", b"200 result=1\n"):
        lines.append(await asyncio.wait_for(reader.readline(), 5))
        await trickle(reply)
    assert lines[-1] == b'SET VARIABLE "CALLBOT_STATUS" "COMPLETED"\n'
    assert recorder.results[0].digit == "2"
    writer.close()


async def test_hangup_while_idle_is_seen_by_the_next_command(server):
    recorder = Recorder()
    recorder.release.clear()
    srv = await server(recorder)
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    writer.write(ENV)
    await reader.readline()
    writer.write(b"200 result=0\n")
    await reader.readline()
    writer.write(b"200 result=0 endpos=8000\n")
    await asyncio.sleep(0.05)
    writer.write(b"HANGUP\n")  # the caller leaves while the bot thinks (20)
    await asyncio.sleep(0.05)
    recorder.release.set()
    assert (
        await asyncio.wait_for(reader.readline(), 5)
        == b'SET VARIABLE "CALLBOT_STATUS" "COMPLETED"\n'
    )
    writer.write(b"200 result=1\n")
    assert await closed(reader)
    writer.close()
