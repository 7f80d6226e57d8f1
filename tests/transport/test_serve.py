"""``agi-callbot serve`` as a real process: a call over loopback, then SIGTERM drains it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

FLOW = """\
flow: hello
language: en
voice: {engine: espeak-ng, voice: en}
start: greet
blocks:
  greet:
    say: "Hello."
"""
ENV = (
    b"agi_network: yes\nagi_network_script: hello\nagi_channel: PJSIP/t-1\n"
    b"agi_uniqueid: 5.1\nagi_callerid: 15550100\n\n"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "hello.yaml").write_text(FLOW)
    port, http = free_port(), free_port()
    path = tmp_path / "callbot.yaml"
    path.write_text(
        f"listen: {{port: {port}, drain_timeout: 10s}}\nhttp: {{port: {http}}}\n"
        "flows_dir: flows\ndata_dir: var\nlog: {format: json}\n"
    )
    return path


async def wait_listening(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError("server did not start")


async def test_sigterm_stops_accepting_and_drains_the_running_call(config: Path):
    text = config.read_text()
    port = int(text.split("port: ")[1].split(",")[0])
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agi_callbot",
        "--config",
        str(config),
        "serve",
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "CALLBOT_LOG__LEVEL": "INFO"},
    )
    try:
        await wait_listening(port)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(ENV)
        assert (
            await asyncio.wait_for(reader.readline(), 10)
            == b'SET VARIABLE "CALLBOT_STATUS" "FAILED"\n'
        )
        proc.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.5)
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"200 result=1\n")
        seen = []
        while line := await asyncio.wait_for(reader.readline(), 10):
            seen.append(line)
            if line.startswith(b"STREAM FILE"):
                writer.write(b"200 result=0 endpos=8000\n")
            elif line.startswith((b"SET VARIABLE", b"HANGUP")):
                writer.write(b"200 result=1\n")
            else:
                writer.write(b"200 result=0\n")
        assert b'SET VARIABLE "CALLBOT_STATUS" "COMPLETED"\n' in seen
        assert await asyncio.wait_for(proc.wait(), 15) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    log = (await proc.stderr.read()).decode()
    assert "draining" in log or "stopping" in log


async def test_classic_agi_runs_one_call_on_stdio(config: Path):
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agi_callbot",
        "--config",
        str(config),
        "agi",
        "hello",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(
        b"agi_request: agi-callbot\nagi_channel: PJSIP/t-2\nagi_uniqueid: 6.1\n"
        b"agi_callerid: 15550100\nagi_arg_1: hello\n\n"
    )
    seen = []
    try:
        while line := await asyncio.wait_for(proc.stdout.readline(), 20):
            seen.append(line)
            if line.startswith(b"STREAM FILE"):
                proc.stdin.write(b"200 result=0 endpos=8000\n")
            elif line.startswith((b"SET VARIABLE", b"HANGUP")):
                proc.stdin.write(b"200 result=1\n")
            else:
                proc.stdin.write(b"200 result=0\n")
            await proc.stdin.drain()
        assert seen[0] == b'SET VARIABLE "CALLBOT_STATUS" "FAILED"\n'
        assert b'SET VARIABLE "CALLBOT_STATUS" "COMPLETED"\n' in seen
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
