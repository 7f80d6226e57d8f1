"""The server process: Settings → Services → FastAGI + HTTP + outbox workers + AMI.

One place builds every part from the settings and tears them down in reverse
order, so ``serve``, classic ``agi`` and tests start the same real thing.
Start-up fails loudly (a missing sox/espeak-ng, a bad flows folder, a port in
use) instead of failing the first caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp.web import AppRunner

from agi_callbot import metrics, web
from agi_callbot.active_calls import ActiveCalls
from agi_callbot.asterisk.teams import NoTeams, Teams
from agi_callbot.config import Settings
from agi_callbot.console import mount as mount_console
from agi_callbot.console import standalone_app as standalone_console
from agi_callbot.errors import ConfigError
from agi_callbot.flow.loader import FlowLibrary
from agi_callbot.gateways import Gateway, build_gateways, probe
from agi_callbot.gateways.webhook import in_call_webhooks
from agi_callbot.outbox.service import Outbox
from agi_callbot.records import CallRecords
from agi_callbot.router import Router
from agi_callbot.services import Services, SystemClock
from agi_callbot.transport.fastagi import FastAGIServer
from agi_callbot.tts.service import PromptService

log = logging.getLogger("agi_callbot.app")


@dataclass
class App:
    """Every long-lived part of one node; :meth:`start` then :meth:`aclose`."""

    settings: Settings
    workers: bool = True
    # made by build()
    prompts: PromptService = field(init=False)
    gateways: dict[str, Gateway] = field(init=False)
    outbox: Outbox = field(init=False)
    teams: Teams | NoTeams = field(init=False)
    services: Services = field(init=False)
    library: FlowLibrary = field(init=False)
    router: Router = field(init=False)
    # made by start()
    server: FastAGIServer | None = None
    http: AppRunner | None = None
    console_http: AppRunner | None = None
    console: Any = None
    _closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    async def build(self) -> None:
        """Open stores and services (no listener yet): enough for one classic AGI call."""
        settings = self.settings
        usable_folder(settings.data_dir, "data_dir")
        check_flows_dir(settings.flows_dir)
        self.prompts = prompts = PromptService.from_settings(settings)
        prompts.check()
        self._closers.append(prompts.aclose)
        self.gateways = gateways = build_gateways(settings)
        self._closers += [gateway.aclose for gateway in set(gateways.values())]
        self.outbox = outbox = Outbox.from_settings(settings, gateways)
        if self.workers:
            await outbox.start()
        else:
            await outbox.open()
        self._closers.append(outbox.aclose)
        self.teams = teams = Teams.from_settings(settings)
        await teams.start()
        self._closers.append(teams.aclose)
        records = CallRecords(settings.calls_db)
        await records.open()
        self._closers.append(records.aclose)
        webhooks = in_call_webhooks(settings)
        self._closers.append(webhooks.aclose)
        self.services = Services(
            prompts=prompts,
            outbox=outbox,
            optins=outbox.optins,
            teams=teams,
            records=records,
            clock=SystemClock(),
            webhooks=webhooks,
            active=ActiveCalls(),
        )
        self.library = FlowLibrary.from_settings(settings)
        self.router = Router(settings, self.services, self.library)

    @staticmethod
    async def _probe(gateways: dict[str, Any]) -> None:
        """One line per channel at start-up; an unreachable provider is not fatal."""
        try:
            async with asyncio.timeout(5.0):
                results = await probe(gateways)
        except TimeoutError:
            log.warning("gateways: no answer from the providers' check within 5 s")
            return
        for channel, problem in results.items():
            kind = type(gateways[channel]).__name__
            if problem:
                log.warning(
                    "gateway %s (%s): %s; messages wait in the outbox", channel, kind, problem
                )
            else:
                log.info("gateway %s: %s", channel, kind)

    async def start(self) -> None:
        """Build, then listen: FastAGI, HTTP, and the flow hot-reload watcher.

        Providers are probed here, once per server start, not in :meth:`build`: a
        classic AGI process runs :meth:`build` for every call.
        """
        await self.build()
        await self._probe(self.gateways)
        self.server = FastAGIServer(
            self.router,
            self.settings.listen,
            observer=metrics.observe_command,
            on_refused=metrics.refused,
        )
        await self.server.start()
        console = self.settings.console
        shared = console.enabled and not console.port
        if self.settings.http.enabled:
            app = web.build_app(
                self.settings,
                prompts=self.prompts,
                outbox=self.outbox,
                ready=self.ready,
                client_max_size=max(2 * console.max_flow_bytes + 65536, 1024 * 1024),
            )
            if shared:
                self.console = mount_console(app, self.settings, services=self.services)
            self.http = await web.start_http(self.settings, app)
            if shared:
                self.console.guard.announce(_base_url(self.http))
        if console.enabled and console.port:
            app, self.console = standalone_console(self.settings, services=self.services)
            self.console_http = await web.start_http(
                self.settings, app, host=console.host, port=console.port, what="console"
            )
            self.console.guard.announce(_base_url(self.console_http))
        if self.settings.flows.reload:
            interval = float(self.settings.flows.reload_interval)
            self._tasks.append(asyncio.create_task(self.library.watch(interval)))

    async def ready(self) -> tuple[bool, dict[str, Any]]:
        """``/readyz``: flows loaded and the outbox store answering."""
        flows = self.library.names()
        details: dict[str, Any] = {"flows": len(flows)}
        ok = bool(flows)
        try:
            async with asyncio.timeout(2.0):
                await self.outbox.ping()
            details["outbox"] = "ok"
        except Exception as exc:  # readiness reports, it never raises
            details["outbox"] = f"unreachable: {type(exc).__name__}"
            ok = False
        return ok, details

    async def aclose(self) -> None:
        """Drain calls, then close everything in reverse order of opening."""
        if self.console is not None:
            await self.console.workers.aclose()  # nothing the console does is needed now
            self.console.guard.forget_link()
        if self.server is not None:
            await self.server.shutdown()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for runner in (self.console_http, self.http):
            if runner is not None:
                await runner.cleanup()
        while self._closers:
            closer = self._closers.pop()
            try:
                await closer()
            except Exception:
                log.exception("error while closing %r", closer)


def _base_url(runner: AppRunner) -> str:
    host, port = runner.addresses[0][:2] if runner.addresses else ("127.0.0.1", 0)
    host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}"


#: the collector's thresholds once a node serves calls (CPython's own: 700, 10, 10)
GC_THRESHOLDS = (10_000, 10, 10)


def settle_memory() -> None:
    """After start-up: keep the collector's pauses short with thousands of calls open.

    - ``gc.freeze()``: start-up objects (modules, settings, flows, engines) live as long
      as the process; frozen, no collection scans them again.
    - thresholds: a call lives for seconds to minutes, so with CPython's defaults every
      object of every open call is soon promoted to the oldest generation, and the
      full collections that follow scan all of them (2000 open calls: tens of ms with
      every call stalled, the p99 tail). A young generation of 10 000 allocations
      (not 700) lets most of a call's temporary objects die young; full collections
      come when the objects promoted since the last one reach a quarter of the oldest
      generation (CPython's rule). ``benchmarks/peers.py --gc a,b,c`` compares other
      values; with 2000 paced calls this cut the collector's CPU 3–4× and left no
      middle or full collection in a 5 s window.

    Collections are rare now for a second reason: a finished call leaves no reference
    cycle behind (``ProtocolWire.connection_lost`` breaks the one asyncio 3.11's
    transport keeps, tests/app/test_call_cycles.py), so a young collection frees
    nothing and the older ones never come due while calls are open.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def usable_folder(path: Path, setting: str) -> None:
    """Create ``path`` if needed and prove it writable, or one line naming the setting."""
    fix = f"point {setting} at a folder this user can write"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"setting {setting!r}: {path} is not a folder (a file); {fix}") from None
    except OSError as exc:
        raise ConfigError(
            f"setting {setting!r}: cannot create {path}: {exc.strerror}; {fix}"
        ) from None
    probe = path / f".write-probe-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"setting {setting!r}: cannot write in {path}: {exc.strerror}; {fix}"
        ) from None


def check_flows_dir(path: Path) -> None:
    """A node without its flows cannot take a call: refuse to start, loudly."""
    fix = "create it, or point flows_dir (serve --flows) at the folder with your flows"
    if not path.exists():
        raise ConfigError(f"setting 'flows_dir': {path} does not exist; {fix}")
    if not path.is_dir():
        raise ConfigError(f"setting 'flows_dir': {path} is not a folder; {fix}")
    if not any(p for p in path.rglob("*.yaml") if not p.name.endswith(".test.yaml")):
        raise ConfigError(f"setting 'flows_dir': {path} holds no flow (*.yaml); add one, or {fix}")


async def serve_forever(settings: Settings) -> int:
    """Run a node until SIGTERM/SIGINT, then drain for ``listen.drain_timeout``."""
    app = App(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await app.start()
        settle_memory()
        log.info("agi-callbot ready: flows from %s", settings.flows_dir)
        await stop.wait()
        log.info("stopping: no new calls, draining for up to %ss", settings.listen.drain_timeout)
    finally:
        await app.aclose()
    return 0
