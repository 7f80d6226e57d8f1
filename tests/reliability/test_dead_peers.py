"""Issue 14.5: a vanished Asterisk is noticed, and every command has the deadline its
work allows.

Found: ``SO_KEEPALIVE`` was set but the system's keepalive starts after 7,200 s; media
commands waited up to 1,800 s whatever they did. Now each FastAGI socket carries its own
``TCP_KEEPIDLE/INTVL/CNT`` (``listen.keepalive_*``, 30 s / 10 s / 3 by default: a vanished
peer is found in about a minute), a WAIT FOR DIGIT waits its own timeout, and a prompt
whose length is known waits that length plus the digits' timeout.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agi_callbot.agi import commands as cmd
from agi_callbot.channel.deadlines import Timeouts
from agi_callbot.config import Listen, load_settings
from agi_callbot.errors import ProtocolError
from agi_callbot.transport.fastagi import FastAGIServer

ENV = b"agi_network: yes\nagi_network_script: t\nagi_uniqueid: 1.1\nagi_channel: PJSIP/x\n\n"
HERE = Path(__file__).resolve().parent


async def one_call(listen: Listen, body) -> object:
    """Run ``body(channel)`` in a FastAGI call whose Asterisk reads commands, never answers."""
    outcome: list[object] = []

    async def handler(channel) -> None:
        try:
            outcome.append(await body(channel))
        except Exception as exc:
            outcome.append(exc)

    server = FastAGIServer(handler, listen)
    await server.start()
    _, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(ENV)
    try:
        async with asyncio.timeout(10):
            while not outcome:
                await asyncio.sleep(0.05)
    finally:
        writer.close()
        await server.shutdown(1)
    return outcome[0]


async def test_each_socket_carries_its_own_keepalive() -> None:
    async def options(channel) -> tuple[int, ...]:
        sock = channel.wire.transport.get_extra_info("socket")
        return tuple(
            sock.getsockopt(level, name)
            for level, name in (
                (socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                (socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                (socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                (socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
            )
        )

    assert await one_call(Listen(port=0), options) == (1, 30, 10, 3)
    tuned = Listen(port=0, keepalive_idle=5, keepalive_interval=2, keepalive_count=4)
    assert await one_call(tuned, options) == (1, 5, 2, 4)


def test_keepalive_settings_are_read_and_checked(tmp_path) -> None:
    settings = load_settings(
        None,
        overrides={"data_dir": str(tmp_path), "listen.keepalive_idle": "45s"},
        environ={"CALLBOT_LISTEN__KEEPALIVE_COUNT": "5"},
    )
    assert (settings.listen.keepalive_idle, settings.listen.keepalive_count) == (45, 5)


def test_deadlines_follow_what_the_command_does() -> None:
    t = Timeouts(reply=10.0, media=1800.0, exec=None)
    assert t.for_command(cmd.WaitForDigit(5000)) == 15.0  # its own timeout + margin
    assert t.for_command(cmd.WaitForDigit(-1)) == 1810.0  # waits for ever: the cap
    assert t.for_command(cmd.StreamFile("x"), length=2.5) == 12.5
    assert t.for_command(cmd.GetData("x", 5000, 4), length=3.0) == 3.0 + 4 * 5.0 + 10.0
    assert t.for_command(cmd.StreamFile("x")) == 1810.0  # length unknown: the cap
    assert t.for_command(cmd.Exec("Queue", "sales")) is None  # a conversation has no bound


async def test_a_silent_asterisk_is_given_up_after_the_prompt_length() -> None:
    listen = Listen(port=0, reply_timeout=0.3)
    started = time.monotonic()
    result = await one_call(listen, lambda ch: ch.stream_file("hello", length=0.5))
    assert isinstance(result, ProtocolError), result
    assert time.monotonic() - started < 5
    result = await one_call(listen, lambda ch: ch.wait_for_digit(400))
    assert isinstance(result, ProtocolError), result


async def test_prompt_service_knows_a_prompt_length(tmp_path) -> None:
    from agi_callbot.tts.service import PromptService

    settings = load_settings(None, overrides={"data_dir": str(tmp_path)}, environ={})
    service = PromptService.from_settings(settings)
    try:
        file = await service.resolve("Para ventas pulse uno.", language="es")
        length = service.length(file)
    finally:
        await service.aclose()
    assert length is not None and 0.8 < length < 5.0
    assert service.length("custom/not-ours") is None


def _namespaces_work() -> bool:
    if not shutil.which("unshare") or not shutil.which("ip"):
        return False
    return subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _namespaces_work(), reason="needs unshare -rn (user + net namespaces)")
def test_a_vanished_asterisk_frees_the_call_slot() -> None:
    """The peer's network disappears mid-call (no FIN, no RST): keepalive probes go
    unanswered and the slot comes back after idle + interval × count, not 2 hours."""
    env = {**os.environ, "PYTHONPATH": str(HERE.parents[1])}
    done = subprocess.run(
        ["unshare", "-rn", sys.executable, str(HERE / "vanishing_peer.py"), "1", "1", "2", "20"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.stdout.startswith("FREED"), done.stdout + done.stderr[-2000:]
    assert float(done.stdout.split()[1]) < 8
