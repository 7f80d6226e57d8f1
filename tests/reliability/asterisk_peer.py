"""Asterisk's side for the reliability tests, and the server process they attack.

The server runs in its own process (``server_process.py``) so that what is measured —
file descriptors, resident memory, log lines — is the server's alone.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from agi_callbot.sim.asterisk import MemoryAsterisk
from agi_callbot.sim.setup import AsteriskSetup

SERVER = Path(__file__).with_name("server_process.py")
ROOT = Path(__file__).resolve().parents[2]
PAGE = os.sysconf("SC_PAGE_SIZE")

#: the end of a traceback of an error the engine raises on purpose (a refused command, a
#: protocol error): handled, logged, the call ended. Anything else escaped somewhere.
HANDLED = re.compile(r"agi_callbot\.errors\.\w+: [^\n]*\Z")

#: the flow handler's commands, in order, when Asterisk answers everything normally
NORMAL_VERBS = [
    "ANSWER",
    "SET VARIABLE",
    "STREAM FILE",
    "GET DATA",
    "GET VARIABLE",
    "WAIT FOR DIGIT",
    "EXEC",
    "SET VARIABLE",
    "VERBOSE",
    "HANGUP",
]


def env_block(n: int = 1, script: str = "fuzz") -> bytes:
    """Asterisk 22's env block (tests/transcripts/01) for call ``n``."""
    fields = [
        ("network", "yes"),
        ("network_script", script),
        ("request", f"agi://127.0.0.1/{script}"),
        ("channel", f"PJSIP/1001-{n:08x}"),
        ("language", "es"),
        ("type", "PJSIP"),
        ("uniqueid", f"1700000000.{n}"),
        ("version", "22.10.1"),
        ("callerid", "600111222"),
        ("calleridname", "Ana"),
        ("callingpres", "0"),
        ("callingani2", "0"),
        ("callington", "0"),
        ("callingtns", "0"),
        ("dnid", "900100200"),
        ("rdnis", "unknown"),
        ("context", "callbot"),
        ("extension", "900100200"),
        ("priority", "2"),
        ("enhanced", "0.0"),
        ("accountcode", ""),
        ("threadid", "140000000000000"),
    ]
    return "".join(f"agi_{k}: {v}\n" for k, v in fields).encode() + b"\n"


def normal_reply(line: bytes) -> bytes:
    """What a live Asterisk with a patient caller answers to the flow's commands."""
    if line.startswith(b"STREAM FILE"):
        return b"200 result=0 endpos=16000\n"
    if line.startswith(b"GET DATA"):
        return b"200 result=12\n"
    if line.startswith(b"GET VARIABLE"):
        return b"200 result=1 (Ana)\n"
    if line.startswith(b"HANGUP"):
        return b"200 result=1\n"
    return b"200 result=0\n"


KNOWN_VERBS = sorted({*NORMAL_VERBS, "CHANNEL STATUS", "GET FULL VARIABLE", "NOOP"}, key=len)


def verb_of(line: bytes) -> str:
    text = line.decode("utf-8", "replace")
    for verb in reversed(KNOWN_VERBS):  # longest first: "GET FULL VARIABLE" before "GET"
        if text.startswith(verb):
            return verb
    return text.split(" ", 1)[0].strip()


async def normal_call(port: int, n: int = 1) -> tuple[list[str], list[float]]:
    """One well-behaved call: the verbs the server sent and each command's turnaround."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    verbs: list[str] = []
    turnaround: list[float] = []
    try:
        writer.write(env_block(n))
        sent = time.perf_counter()
        while True:
            line = await asyncio.wait_for(reader.readline(), 10)
            if not line:
                break
            turnaround.append(time.perf_counter() - sent)
            verbs.append(verb_of(line))
            writer.write(normal_reply(line))
            sent = time.perf_counter()
    finally:
        writer.close()
    return verbs, turnaround


async def memory_call(port: int, script: str, **world: object) -> MemoryAsterisk:
    """The in-memory Asterisk (the example flows' fake world) on a real TCP connection."""
    ast = MemoryAsterisk(AsteriskSetup(script, **world))  # type: ignore[arg-type]
    await ast.call("127.0.0.1", port)
    return ast


@dataclass
class ServerProcess:
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def rss(self) -> int:
        return int(Path(f"/proc/{self.pid}/statm").read_text().split()[1]) * PAGE

    def log(self) -> list[dict]:
        """Every log line as JSON; a line that is not JSON (a raw traceback) fails here."""
        entries = []
        for raw in self.log_path.read_text(encoding="utf-8").splitlines():
            try:
                entries.append(json.loads(raw))
            except json.JSONDecodeError:
                pytest.fail(f"server wrote a line that is not JSON: {raw[:200]!r}")
        return entries

    def errors(self) -> list[dict]:
        return [e for e in self.log() if e["level"] in ("error", "critical")]

    def escaped(self) -> list[dict]:
        """Lines with a traceback of anything but the engine's own errors (or CRITICAL)."""
        return [
            e
            for e in self.log()
            if e["level"] == "critical" or (e.get("exc") and not HANDLED.search(e["exc"].rstrip()))
        ]

    async def settle_fds(self, baseline: int, timeout: float = 10.0) -> int:
        """Wait for closing sockets to go; the fd count once it is back (or the last seen)."""
        deadline = time.monotonic() + timeout
        while True:
            count = self.fds()
            if count <= baseline or time.monotonic() > deadline:
                return count
            await asyncio.sleep(0.1)
