"""FastAGI over TCP: ``AGI(agi://callbot:4573/<flow>)`` lands here.

Thin on purpose: sockets, deadlines, limits and shutdown; the protocol is the
sans-IO core and the call is the handler's. Rules it keeps:

- binds 127.0.0.1 unless configured; at most ``max_calls`` sessions, a refused
  connection is closed at once with one warning (rate-limited);
- the env block has a deadline (``env_timeout``), each reply the command's own
  (:class:`~agi_callbot.channel.deadlines.Timeouts`); a peer that closes early or sends
  garbage ends that call only, never the server, and never spins: a read of
  ``b""`` is end of stream and ends the session;
- SIGTERM/SIGINT (see :mod:`agi_callbot.cli.serve`): stop accepting, let calls
  finish for ``drain_timeout``, then cancel them (their ``finally`` still runs
  post-call work) and close.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from collections.abc import Callable

from agi_callbot.channel import CommandObserver
from agi_callbot.channel.deadlines import Timeouts, Watchdog
from agi_callbot.config import Listen
from agi_callbot.errors import ConfigError, ConnectionClosed, SessionNotStarted
from agi_callbot.log_limit import Limiter
from agi_callbot.session import Handler, open_channel, run_session

log = logging.getLogger("agi_callbot.fastagi")

READ_SIZE = 65536


class ProtocolWire(asyncio.Protocol):
    """One FastAGI socket as a :class:`~agi_callbot.channel.Wire`, straight on the transport.

    No StreamReader in between: received chunks wait in a short list until the call
    reads them, and reading pauses when more than ``READ_SIZE`` bytes are waiting, so a
    peer that floods cannot grow memory (the sans-IO core caps lines and blocks too).
    """

    def __init__(self, server: FastAGIServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.close_timeout = float(server.listen.close_timeout)
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._eof = False
        self._closing = False
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._loop = asyncio.get_running_loop()
        self._lost: asyncio.Future[None] = self._loop.create_future()

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.accepted(self)

    def data_received(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > READ_SIZE and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        # Python 3.11's socket transport keeps a bound method of itself (_read_ready_cb,
        # CPython gh-100348, fixed in 3.12): a reference cycle only the garbage collector
        # frees, and the only one a call made. Nothing reads after connection_lost; with
        # it broken every object of a call goes by reference counting, so with thousands
        # of calls open the collector's count stops growing and no collection (a pause
        # of every call) runs in steady state (tests/app/test_call_cycles.py).
        if getattr(self.transport, "_read_ready_cb", None) is not None:
            self.transport._read_ready_cb = None  # type: ignore[union-attr]
        self._eof = True
        self._wake()
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        if not self._lost.done():
            self._lost.set_result(None)

    def pause_writing(self) -> None:
        self._drained = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._drained = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- Wire ---------------------------------------------------------------------------

    async def read(self) -> bytes:
        """Everything received so far; ``b""`` once the peer closed and all was read."""
        while not self._chunks:
            if self._eof or self._closing:
                return b""
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        self._chunks.clear()
        self._buffered = 0
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return data

    async def write(self, data: bytes) -> None:
        transport = self.transport
        if self._closing or transport is None or transport.is_closing():
            raise ConnectionClosed("the AGI connection is closed")
        transport.write(data)
        if self._drained is not None:
            await self._drained

    async def aclose(self) -> None:
        """Close (queued bytes are still sent); abort if the peer does not let go in time."""
        if self._closing or self.transport is None:
            return
        self._closing = True
        self._wake()
        self.transport.close()
        if not self._lost.done():
            # with nothing left to send, close() has already scheduled connection_lost:
            # one loop turn sees it, with no deadline timer and shield per call
            await asyncio.sleep(0)
            if self._lost.done():
                return
        try:
            async with asyncio.timeout(self.close_timeout):
                await asyncio.shield(self._lost)
        except TimeoutError:
            self.transport.abort()

    @property
    def peer(self) -> object:
        return None if self.transport is None else self.transport.get_extra_info("peername")


def listen_error(section: str, what: str, host: str, port: int, exc: OSError) -> ConfigError:
    """One line for a listener that cannot bind: the setting to change and how."""
    reason = (exc.strerror or str(exc)).lower()
    if exc.errno == errno.EADDRINUSE:
        return ConfigError(
            f"setting '{section}.port': cannot listen for {what} on {host}:{port}: "
            "address already in use (another process holds it: stop it or choose another port)"
        )
    if exc.errno in (errno.EADDRNOTAVAIL, socket.EAI_NONAME) or isinstance(exc, socket.gaierror):
        return ConfigError(
            f"setting '{section}.host': cannot listen for {what} on {host}:{port}: {reason} "
            "(use an address of this machine, such as 127.0.0.1)"
        )
    if exc.errno == errno.EACCES:
        return ConfigError(
            f"setting '{section}.port': cannot listen for {what} on {host}:{port}: {reason} "
            "(ports below 1024 need privileges: choose a higher port)"
        )
    return ConfigError(
        f"setting '{section}.port': cannot listen for {what} on {host}:{port}: {reason}"
    )


def keepalive_options(listen: Listen) -> list[tuple[int, int, int]]:
    """``(level, option, value)`` of the per-socket TCP keepalive (``listen.keepalive_*``);
    the per-socket timings only where the platform has them."""
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    for name, value in (
        ("TCP_KEEPIDLE", listen.keepalive_idle),
        ("TCP_KEEPINTVL", listen.keepalive_interval),
        ("TCP_KEEPCNT", listen.keepalive_count),
    ):
        if hasattr(socket, name):
            options.append((socket.IPPROTO_TCP, getattr(socket, name), max(1, round(value))))
    return options


def keepalive(sock: socket.socket, listen: Listen) -> None:
    """Per-socket TCP keepalive (``listen.keepalive_*``): a peer that vanished without a
    FIN or RST (power cut, network gone) is found after idle + interval × count seconds,
    the read fails and the call's slot comes back. Platforms without the per-socket
    options keep the system's timings."""
    for level, option, value in keepalive_options(listen):
        with contextlib.suppress(OSError):
            sock.setsockopt(level, option, value)


def keepalive_inherited(sock: socket.socket, listen: Listen) -> bool:
    """Whether an accepted ``sock`` already carries ``listen``'s keepalive: Linux copies
    the listening socket's options to each connection it accepts, so set there once
    they cost no system call per call; elsewhere :func:`keepalive` sets them per socket."""
    try:
        return all(
            sock.getsockopt(level, option) == value
            for level, option, value in keepalive_options(listen)
        )
    except OSError:
        return False


class FastAGIServer:
    """Accepts FastAGI connections and runs ``handler(channel)`` for each call."""

    def __init__(
        self,
        handler: Handler,
        listen: Listen | None = None,
        *,
        observer: CommandObserver | None = None,
        on_refused: Callable[[str], None] | None = None,
    ) -> None:
        self.handler = handler
        self.listen = listen or Listen()
        self.timeouts = Timeouts.from_listen(self.listen)
        self.observer = observer
        self.on_refused = on_refused
        self.calls: set[asyncio.Task[None]] = set()
        self.served = 0
        self._server: asyncio.Server | None = None
        self.watchdog = Watchdog()
        self._watchdog_task: asyncio.Task[None] | None = None
        #: accepted sockets get the listener's keepalive (None: not known until the first)
        self._inherits_keepalive: bool | None = None
        #: what a peer that is not Asterisk causes: one line per cause per window
        self.sessions = Limiter(log)

    @property
    def port(self) -> int:
        """The bound port (useful with port 0 in tests)."""
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._watchdog_task = asyncio.create_task(self.watchdog.run())
        try:
            self._server = await loop.create_server(
                lambda: ProtocolWire(self),
                self.listen.host,
                self.listen.port,
                backlog=min(4096, max(128, self.listen.max_calls)),
                reuse_address=True,
            )
        except OSError as exc:
            self._watchdog_task.cancel()
            raise listen_error(
                "listen", "FastAGI", self.listen.host, self.listen.port, exc
            ) from None
        for listener in self._server.sockets:
            keepalive(listener, self.listen)  # type: ignore[arg-type]
        log.info(
            "FastAGI listening on %s:%s (max %d calls)",
            self.listen.host,
            self.port,
            self.listen.max_calls,
        )

    def accepted(self, wire: ProtocolWire) -> None:
        """A new connection: start its call, or refuse it when ``max_calls`` run."""
        assert wire.transport is not None
        if len(self.calls) >= self.listen.max_calls:
            self._refuse("max_calls")
            wire.transport.close()  # a clean close: Asterisk fails over on AGISTATUS at once
            return
        task = asyncio.get_running_loop().create_task(self._session(wire))
        self.calls.add(task)
        task.add_done_callback(self.calls.discard)

    def _refuse(self, reason: str) -> None:
        if self.on_refused is not None:
            self.on_refused(reason)
        self.sessions.warning(
            "max_calls",
            "refused a FastAGI connection: %d calls running (listen.max_calls)",
            len(self.calls),
        )

    async def _session(self, wire: ProtocolWire) -> None:
        # TCP_NODELAY: asyncio's socket transport sets it on every TCP connection
        sock = wire.transport.get_extra_info("socket") if wire.transport else None
        if sock is not None and not self._inherits_keepalive:
            if self._inherits_keepalive is None:
                self._inherits_keepalive = keepalive_inherited(sock, self.listen)
            if not self._inherits_keepalive:
                keepalive(sock, self.listen)
        try:
            channel = await open_channel(
                wire,
                env_timeout=float(self.listen.env_timeout),
                timeouts=self.timeouts,
                observer=self.observer,
                watchdog=self.watchdog,
            )
        except SessionNotStarted as exc:
            if exc.malformed:  # its message holds the peer's bytes: name the peer only
                self.sessions.warning(
                    "not-agi", "FastAGI: not an AGI session from %s; closed", wire.peer
                )
            else:
                self.sessions.info(str(exc), "FastAGI %s: %s; closed", wire.peer, exc)
            await wire.aclose()
            return
        self.served += 1
        await run_session(self.handler, channel)

    async def shutdown(self, drain_timeout: float | None = None) -> None:
        """Stop accepting, let calls finish for ``drain_timeout`` s, then cancel them."""
        drain = float(self.listen.drain_timeout) if drain_timeout is None else drain_timeout
        if self._server is not None:
            self._server.close()
        if self.calls:
            log.info("draining %d call(s) for up to %.0f s", len(self.calls), drain)
            _, pending = await asyncio.wait(set(self.calls), timeout=drain)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("cancelled %d call(s) still running after the drain", len(pending))
                await asyncio.wait(pending, timeout=float(self.listen.close_timeout) + 1)
        if self._watchdog_task is not None:
            self._watchdog_task.cancel()
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(float(self.listen.close_timeout)):
                    await self._server.wait_closed()
