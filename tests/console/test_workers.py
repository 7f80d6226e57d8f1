"""The console's CPU-heavy work runs in worker processes, never in the node's: a worker
that dies fails only the request it had, with a clear message, and a fresh one takes
the next; a task that takes too long is stopped; shutting down stops the workers."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from agi_callbot.config import load_settings
from agi_callbot.console import mount
from agi_callbot.console.state import CONSOLE
from agi_callbot.console.store import FlowStore
from agi_callbot.console.workers import WorkerError
from agi_callbot.errors import ConfigError
from tests.console.conftest import TOKEN


async def soporte(client, bearer) -> str:
    return (await (await client.get("/api/flows/soporte", headers=bearer)).json())["yaml"]


def gone(pid: int) -> bool:
    """The process has ended (a zombie waiting for its parent counts as ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


NODE = """
import asyncio, sys, time
from agi_callbot.config import load_settings
from agi_callbot.console.workers import Workers

workers = Workers(load_settings(None, environ={}))
print(asyncio.run(workers.run("ping")), flush=True)
time.sleep(600)
"""


async def test_the_node_process_never_checks_edits_or_tries(client, bearer, monkeypatch):
    """With the loader unusable in this (the node's) process, every draft route still
    answers: the work happens in the worker."""
    text = await soporte(client, bearer)

    def not_here(*args, **kwargs):
        raise AssertionError("a flow was checked in the node's process")

    monkeypatch.setattr(FlowStore, "check", not_here)
    draft = text.replace("timeout: 5s", "timeout: 6s", 1)
    r = await client.post("/api/flows/soporte/check", json={"yaml": draft}, headers=bearer)
    assert r.status == 200 and (await r.json())["state"] in ("valid", "warnings")
    ops = [{"op": "set", "path": ["blocks", "main_menu", "menu", "retries"], "value": 3}]
    r = await client.post(
        "/api/flows/soporte/edit", json={"yaml": draft, "ops": ops}, headers=bearer
    )
    assert r.status == 200 and "retries: 3" in (await r.json())["yaml"]
    r = await client.post("/api/flows/soporte/picture", json={"yaml": draft}, headers=bearer)
    assert r.status == 200 and "<title>main_menu</title>" in await r.text()
    r = await client.post("/api/flows/soporte/try", json={"keys": ["2"]}, headers=bearer)
    assert r.status == 200 and (await r.json())["messages"]
    r = await client.get("/api/flows", headers=bearer)
    assert r.status == 200 and len((await r.json())["flows"]) >= 4
    console = client.server.app[CONSOLE]
    assert console.workers.pids() and os.getpid() not in console.workers.pids()


async def test_a_worker_that_dies_fails_its_request_clearly_then_a_fresh_one_works(client, bearer):
    text = await soporte(client, bearer)
    workers = client.server.app[CONSOLE].workers
    r = await client.post("/api/flows/soporte/check", json={"yaml": text}, headers=bearer)
    assert r.status == 200
    [pid] = workers.pids()
    os.kill(pid, signal.SIGSTOP)  # it takes the next task and does not get to it
    draft = text.replace("timeout: 5s", "timeout: 8s", 1)
    pending = asyncio.ensure_future(
        client.post("/api/flows/soporte/check", json={"yaml": draft}, headers=bearer)
    )
    await asyncio.sleep(0.5)
    assert not pending.done()
    os.kill(pid, signal.SIGKILL)
    r = await asyncio.wait_for(pending, 30)
    assert r.status == 503
    message = (await r.json())["error"]
    assert "worker process stopped (exit code -9)" in message and "try again" in message
    # the next request gets a fresh worker
    r = await client.post("/api/flows/soporte/check", json={"yaml": draft}, headers=bearer)
    assert r.status == 200
    assert workers.pids() and pid not in workers.pids()
    # a worker killed while idle: nobody was waiting, the next request just works
    [second] = workers.pids()
    os.kill(second, signal.SIGKILL)
    await asyncio.sleep(0.3)
    other = text.replace("timeout: 5s", "timeout: 9s", 1)
    r = await client.post("/api/flows/soporte/check", json={"yaml": other}, headers=bearer)
    assert r.status == 200
    assert workers.started == 3


async def test_a_task_that_takes_too_long_is_stopped(client, bearer):
    text = await soporte(client, bearer)
    workers = client.server.app[CONSOLE].workers
    await workers.run("ping")
    [pid] = workers.pids()
    os.kill(pid, signal.SIGSTOP)
    with pytest.raises(WorkerError, match=r"more than 1 s: it was stopped"):
        await workers.run("verdict", "soporte", text, timeout=1.0)
    assert gone(pid)
    found = await workers.run("verdict", "soporte", text)
    assert found["state"] in ("valid", "warnings")


async def test_shutting_down_stops_the_workers(settings):
    app = web.Application()
    mount(app, settings, token=TOKEN)
    async with TestClient(TestServer(app)) as client:
        r = await client.get("/api/flows", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status == 200
        workers = app[CONSOLE].workers
        pids = workers.pids()
        assert pids
    assert all(gone(pid) for pid in pids)
    with pytest.raises(WorkerError, match="stopping"):
        await workers.run("ping")


async def test_logging_in_starts_the_worker(settings):
    app = web.Application()
    mount(app, settings, token=TOKEN)
    async with TestClient(TestServer(app)) as client:
        assert app[CONSOLE].workers.pids() == []
        r = await client.get(f"/login?token={TOKEN}", allow_redirects=False)
        assert r.status == 303
        for _ in range(100):
            if app[CONSOLE].workers.pids():
                break
            await asyncio.sleep(0.05)
        assert len(app[CONSOLE].workers.pids()) == 1


async def test_pool_size_from_the_settings(settings):
    console = dataclasses.replace(settings.console, workers=2)
    app = web.Application()
    mount(app, dataclasses.replace(settings, console=console), token=TOKEN)
    workers = app[CONSOLE].workers
    try:
        # two tasks at once: two workers
        await asyncio.gather(*(workers.run("ping") for _ in range(4)))
        assert len(workers.pids()) == 2
    finally:
        await workers.aclose()
    with pytest.raises(ConfigError, match=r"console\.workers"):
        load_settings(None, overrides={"console.workers": 0}, environ={})


def test_workers_do_not_outlive_a_node_that_was_killed():
    node = subprocess.Popen([sys.executable, "-c", NODE], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(node.stdout.readline())
        assert worker != node.pid and not gone(worker)
    finally:
        node.kill()
        node.wait(10)
    deadline = time.monotonic() + 10
    while not gone(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(worker)


def test_a_timeout_inside_a_task_is_its_answer_not_a_dead_worker(monkeypatch, settings):
    """A Try it call past its own limit answers TimeoutError (504); the worker that ran
    it is fine and is not replaced (only the pool's own deadline stops a worker)."""
    from agi_callbot.console import work

    def slow(desk):
        raise TimeoutError("the simulated call took too long")

    monkeypatch.setattr(work, "_desk", work.Desk(settings))
    monkeypatch.setitem(work.TASKS, "slow", slow)
    failure = work.perform("slow")
    assert isinstance(failure, work.Failure)
    with pytest.raises(TimeoutError, match="took too long"):
        work.raise_again(failure)
