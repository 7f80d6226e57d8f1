"""FastAGI over TCP: ``AGI(agi://callbot:4573/<flow>)`` lands here.

Thin on purpose: sockets, deadlines, limits and shutdown; the protocol is the
sans-IO core and the call is the handler's. Rules it keeps (DESIGN section 7):

- binds 127.0.0.1 unless configured; at most ``max_calls`` sessions, a refused
  connection is closed at once with one warning (rate-limited);
- the env block has a deadline (``env_timeout``), each reply the command's own
  (:class:`~agi_callbot.channel.Timeouts`); a peer that closes early or sends
  garbage ends that call only, never the server, and never spins: a read of
  ``b""`` is end of stream and ends the session;
- SIGTERM/SIGINT (see :mod:`agi_callbot.cli.serve`): stop accepting, let calls
  finish for ``drain_timeout``, then cancel them (their ``finally`` still runs
  post-call work) and close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Awaitable, Callable

from agi_callbot.agi.connection import NEED_DATA, Closed, Connection
from agi_callbot.agi.env import Environment
from agi_callbot.channel import Channel, CommandObserver, Timeouts, Watchdog
from agi_callbot.config import Listen
from agi_callbot.errors import Hangup, ProtocolError

log = logging.getLogger("agi_callbot.fastagi")

Handler = Callable[[Channel], Awaitable[object]]
READ_SIZE = 65536
#: replies are short: wait for the socket to drain only when this much is queued
WRITE_BUFFER = 64 * 1024


class StreamWire:
    """A :class:`~agi_callbot.channel.Wire` over asyncio streams."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, close_timeout: float
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.close_timeout = close_timeout
        self._closed = False

    async def read(self) -> bytes:
        try:
            return await self.reader.read(READ_SIZE)
        except ConnectionError:
            return b""

    async def write(self, data: bytes) -> None:
        if self._closed or self.writer.is_closing():
            raise Hangup("the AGI connection is closed")
        try:
            self.writer.write(data)
            if self.writer.transport.get_write_buffer_size() > WRITE_BUFFER:
                await self.writer.drain()
        except ConnectionError as exc:
            raise Hangup(f"the AGI connection broke: {exc}") from None

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.writer.close()
        try:
            async with asyncio.timeout(self.close_timeout):
                await self.writer.wait_closed()
        except (TimeoutError, ConnectionError, OSError):
            self.writer.transport.abort()


async def read_environment(
    connection: Connection, wire: StreamWire | object, timeout: float
) -> Environment | None:
    """Read the env block within ``timeout``; ``None`` if the peer closed before it ended."""
    async with asyncio.timeout(timeout):
        while True:
            event = connection.next_event()
            if isinstance(event, Environment):
                return event
            if isinstance(event, Closed):
                return None
            if event is NEED_DATA:
                connection.receive_data(await wire.read())  # type: ignore[attr-defined]


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
        self._last_refusal_log = 0.0
        self._refused_since_log = 0

    @property
    def port(self) -> int:
        """The bound port (useful with port 0 in tests)."""
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._watchdog_task = asyncio.create_task(self.watchdog.run())
        self._server = await asyncio.start_server(
            self._accept,
            self.listen.host,
            self.listen.port,
            limit=READ_SIZE,
            backlog=min(4096, max(128, self.listen.max_calls)),
            reuse_address=True,
        )
        log.info(
            "FastAGI listening on %s:%s (max %d calls)",
            self.listen.host,
            self.port,
            self.listen.max_calls,
        )

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self.calls) >= self.listen.max_calls:
            self._refuse("max_calls")
            writer.close()  # a clean close: Asterisk fails over on AGISTATUS at once
            return
        task = asyncio.current_task()
        assert task is not None
        self.calls.add(task)  # type: ignore[arg-type]
        try:
            await self._session(reader, writer)
        finally:
            self.calls.discard(task)  # type: ignore[arg-type]

    def _refuse(self, reason: str) -> None:
        self._refused_since_log += 1
        if self.on_refused is not None:
            self.on_refused(reason)
        now = time.monotonic()
        if now - self._last_refusal_log >= 10.0:
            log.warning(
                "refused %d FastAGI connection(s): %d calls running (listen.max_calls)",
                self._refused_since_log,
                len(self.calls),
            )
            self._last_refusal_log = now
            self._refused_since_log = 0

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        peer = writer.get_extra_info("peername")
        wire = StreamWire(reader, writer, float(self.listen.close_timeout))
        connection = Connection()
        try:
            env = await read_environment(connection, wire, float(self.listen.env_timeout))
        except TimeoutError:
            log.info("no AGI environment from %s within %ss: closed", peer, self.listen.env_timeout)
            await wire.aclose()
            return
        except ProtocolError as exc:
            log.warning("bad AGI environment from %s: %s", peer, exc)
            await wire.aclose()
            return
        if env is None:
            log.info("%s closed before the end of the AGI environment", peer)
            await wire.aclose()
            return
        self.served += 1
        channel = Channel(
            connection, wire, timeouts=self.timeouts, observer=self.observer, watchdog=self.watchdog
        )
        await run_call(self.handler, channel)

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


async def run_call(handler: Handler, channel: Channel) -> None:
    """Run one call's handler; whatever happens, the session ends and the server goes on."""
    env = channel.env
    call = f"{env.channel or '?'} {env.uniqueid or '?'}"
    try:
        await handler(channel)
    except Hangup as exc:
        log.info("call %s ended by hangup: %s", call, exc)
    except ProtocolError as exc:
        log.warning("call %s: AGI protocol error, call ended: %s", call, exc)
    except asyncio.CancelledError:
        log.warning("call %s cancelled (shutdown)", call)
        raise
    except Exception:
        log.exception("call %s: unexpected error in the call handler", call)
    finally:
        await channel.close()
