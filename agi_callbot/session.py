"""One AGI session, whatever carries it: a FastAGI socket, classic AGI's stdin/stdout, or
the in-memory Asterisk of :mod:`agi_callbot.sim`.

Every transport does the same two things with its :class:`~agi_callbot.channel.Wire`:

1. :func:`open_channel`: read the environment block within a deadline and hand back
   the call's :class:`~agi_callbot.channel.Channel`, or raise
   :class:`~agi_callbot.errors.SessionNotStarted` (one reason, for one log line);
2. :func:`run_session`: run the handler (the router) on that channel; whatever
   happens in it, the session ends and the transport goes on serving.

The wire's side of the contract: ``read()`` returns ``b""`` at end of stream, and
``write()`` raises :class:`~agi_callbot.errors.ConnectionClosed` once the peer is gone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from agi_callbot.agi.connection import NEED_DATA, Closed, Connection
from agi_callbot.agi.env import Environment
from agi_callbot.channel import Channel, CommandObserver, Wire
from agi_callbot.channel.deadlines import Timeouts, Watchdog
from agi_callbot.errors import Hangup, ProtocolError, SessionNotStarted
from agi_callbot.log import call_context

log = logging.getLogger("agi_callbot.session")

#: what a transport runs for each call: the router, or a test's own function
Handler = Callable[[Channel], Awaitable[object]]


async def open_channel(
    wire: Wire,
    *,
    env_timeout: float,
    timeouts: Timeouts | None = None,
    observer: CommandObserver | None = None,
    watchdog: Watchdog | None = None,
) -> Channel:
    """Read the environment block from ``wire`` and return the call's channel.

    Raises :class:`SessionNotStarted` when the block does not arrive whole within
    ``env_timeout`` seconds, the peer closes first, or what it sends is not AGI.
    """
    connection = Connection()
    try:
        env = await _read_environment(connection, wire, env_timeout)
    except TimeoutError:
        raise SessionNotStarted(f"no AGI environment within {env_timeout:g} s") from None
    except ProtocolError as exc:
        raise SessionNotStarted(f"bad AGI environment: {exc}", malformed=True) from exc
    if env is None:
        raise SessionNotStarted("closed before the end of the AGI environment")
    return Channel(connection, wire, timeouts=timeouts, observer=observer, watchdog=watchdog)


async def _read_environment(
    connection: Connection, wire: Wire, timeout: float
) -> Environment | None:
    """The env block within ``timeout``; ``None`` if the peer closed before it ended."""
    async with asyncio.timeout(timeout):
        while True:
            event = connection.next_event()
            if isinstance(event, Environment):
                return event
            if isinstance(event, Closed):
                return None
            if event is NEED_DATA:
                connection.receive_data(await wire.read())


async def run_session(handler: Handler, channel: Channel) -> None:
    """Run one call's handler; whatever happens, the session ends and the server goes on.

    The caller hanging up and a broken connection are one log line each; anything else
    escaping the handler is a bug in it and logged with its traceback.
    """
    env = channel.env
    call = f"{env.channel or '?'} {env.uniqueid or '?'}"
    try:
        with call_context(uniqueid=env.uniqueid or None, channel=env.channel or None):
            await handler(channel)
    except Hangup as exc:
        log.info("call %s ended by hangup: %s", call, exc)
    except ProtocolError as exc:
        log.warning("call %s: AGI protocol error, call ended: %s", call, exc)
    except asyncio.CancelledError:
        log.warning("call %s cancelled (shutdown)", call)
        raise
    except Exception:
        log.exception("call %s: bug in the call handler", call)
    finally:
        await channel.close()
