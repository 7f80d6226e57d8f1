"""Fixtures: the FastAGI server in its own process (see ``asterisk_peer.py``)."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from asterisk_peer import ROOT, SERVER, ServerProcess


@pytest.fixture
def agi_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    started: list[ServerProcess] = []

    def start(**options: object) -> ServerProcess:
        argv = [sys.executable, str(SERVER)]
        for key, value in options.items():
            argv += [f"--{key.replace('_', '-')}", str(value)]
        log_path = tmp_path / f"server-{len(started)}.log"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with log_path.open("wb") as log:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, cwd=ROOT, env=env)
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        line = proc.stdout.readline().decode() if ready else ""
        if not line.startswith("PORT "):
            proc.kill()
            pytest.fail(f"server did not start: {line!r} {log_path.read_text()[-2000:]}")
        server = ServerProcess(proc, int(line.split()[1]), log_path)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.alive():
            server.proc.send_signal(signal.SIGTERM)
            try:
                server.proc.wait(10)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait()
