"""The console's worker processes: its CPU-heavy work, off the node's calls.

A pool of ``console.workers`` processes (1 by default), started on first use (or when
an admin logs in, so the first click does not wait for it), forked from a clean
fork server (never from the node, whose threads and sockets they must not inherit)
with the console's task module already imported. They run at a lower priority than the
node (:data:`agi_callbot.console.work.NICE`).

- A worker that dies (killed, out of memory) fails the requests it was working on with
  a clear :class:`WorkerError` (503), and a fresh pool takes the next request.
- A task that takes longer than its timeout gets the same answer; the pool is stopped
  and replaced (a runaway draft must not hold the console).
- When the node stops (drain) or the console's listener shuts down, the workers are
  stopped (SIGTERM, then SIGKILL after a grace period) and reaped. A node that dies
  without stopping them (SIGKILL, a crash) takes them along: each watches it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from agi_callbot.config import Settings
from agi_callbot.console.store import StoreError

log = logging.getLogger("agi_callbot.console")

#: how long one task may take before its worker is stopped (Try it has its own, shorter)
TASK_TIMEOUT_S = 60.0
STOP_GRACE_S = 2.0


class WorkerError(StoreError):
    """The console's worker could not do this request; the next one gets a fresh worker."""

    status = 503


def _context() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["agi_callbot.console.work"])
    return context


class Workers:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.size = settings.console.workers
        self._pool: ProcessPoolExecutor | None = None
        self._closed = False
        self.started = 0  # pools started so far (a crash or a timeout starts a new one)

    # ----------------------------------------------------------------- the pool

    def _ensure(self) -> ProcessPoolExecutor:
        from agi_callbot.console import work  # the tasks import the routes' modules

        if self._closed:
            raise WorkerError("the node is stopping: the console's workers are stopped")
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.size,
                mp_context=_context(),
                initializer=work.start,
                initargs=(self.settings, os.getpid()),
            )
            self.started += 1
        return self._pool

    def pids(self) -> list[int]:
        """The worker processes now running (for tests and diagnostics)."""
        processes = getattr(self._pool, "_processes", None) or {}
        return [p.pid for p in list(processes.values()) if p.is_alive() and p.pid]

    def _processes(self, pool: ProcessPoolExecutor) -> list[Any]:
        return list((getattr(pool, "_processes", None) or {}).values())

    def _discard(self, pool: ProcessPoolExecutor) -> list[Any]:
        """Stop using ``pool`` (a fresh one starts on the next task); its processes."""
        if self._pool is pool:
            self._pool = None
        processes = self._processes(pool)
        for process in processes:
            with contextlib.suppress(Exception):
                process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        return processes

    # ----------------------------------------------------------------- tasks

    async def run(self, task: str, *args: Any, timeout: float = TASK_TIMEOUT_S) -> Any:
        """Run ``task`` (a name of :data:`agi_callbot.console.work.TASKS`) in a worker."""
        from agi_callbot.console import work

        pool = self._ensure()
        try:
            future = pool.submit(work.perform, task, *args)
        except BrokenProcessPool:  # it died while idle: nobody was waiting on it
            log.warning("console: a worker process had stopped; starting a fresh one")
            self._discard(pool)
            pool = self._ensure()
            future = pool.submit(work.perform, task, *args)
        try:
            result = await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except BrokenProcessPool:
            codes = sorted({p.exitcode for p in self._processes(pool) if p.exitcode})
            self._discard(pool)
            how = f" (exit code {', '.join(map(str, codes))})" if codes else ""
            log.error("console: a worker process stopped%s during %r", how, task)
            raise WorkerError(
                f"the console's worker process stopped{how} while working on this request; "
                "a fresh one takes the next request: try again"
            ) from None
        except TimeoutError:
            await asyncio.to_thread(self._reap, self._discard(pool))
            raise WorkerError(
                f"this took the console's worker more than {timeout:.0f} s: it was stopped "
                "and a fresh one takes the next request"
            ) from None
        if isinstance(result, work.Failure):
            work.raise_again(result)
        return result

    def warm(self) -> None:
        """Start the pool now (an admin logged in) so the first check does not wait."""
        from agi_callbot.console import work

        if self._pool is None and not self._closed:
            with contextlib.suppress(Exception):
                self._ensure().submit(work.perform, "ping")

    # ----------------------------------------------------------------- stopping

    async def aclose(self) -> None:
        """Stop the workers (the node drains or shuts down); later tasks are refused."""
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = self._discard(pool)
        await asyncio.to_thread(self._reap, processes)

    @staticmethod
    def _reap(processes: list[Any]) -> None:
        for process in processes:
            with contextlib.suppress(Exception):
                process.join(STOP_GRACE_S)
                if process.is_alive():
                    process.kill()
                    process.join(STOP_GRACE_S)
