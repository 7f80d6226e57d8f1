"""Asterisk Manager Interface: one logged-in session, kept up, each request with a deadline.

It answers "is anyone free in team X?" before a caller is queued (``None``: don't know,
the transfer goes ahead unchecked — AMI must never keep a caller waiting) and, with
``events`` on, feeds :mod:`~agi_callbot.asterisk.queue_state` (the live queues).

Framing and action matching come from panoramisk (its ``AMIProtocol``); the
lifecycle is ours, because panoramisk's does not fit a server that must never
hang (checked against a fake AMI server speaking the wire format of a real
Asterisk 22, ``tests/ami_transcripts``). What this module does instead of
panoramisk, and why:

* **deadlines**: panoramisk has none; every connect, login and action here runs
  under ``asyncio.wait_for``, and an action that timed out is removed from the
  protocol's table (panoramisk would keep it forever).
* **reconnect**: panoramisk retries every ``int(reconnect_timeout)`` seconds (so
  0.25 s is impossible), forever, also after "Authentication failed". Here:
  exponential backoff from 0.25 s (Asterisk accepts logins ~0.26 s after a restart,
  transcript 05) to 30 s, and a rejected login waits the maximum.
* **pending actions on a lost connection**: panoramisk re-sends them after the
  next ``FullyBooted`` (never seen with ``Events: off``) or, when part of a list had
  arrived, forgets them with their future still pending. Here every in-flight
  action fails at once with :class:`AmiUnavailable`.
* **half-open connections**: panoramisk's ping has no deadline; ours closes the
  connection when a Ping is not answered in time.
* **a queue that does not exist is not an error** for Asterisk (``ListItems: 0``):
  existence is read from the ``QueueParams`` event of ``QueueStatus``.

Kept from panoramisk: each TCP read is decoded alone with ``errors="ignore"`` (a UTF-8
character split across reads is lost; only caller names could carry one), and list
events are matched by ``ActionID`` (correct: they repeat it, transcript 02a).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass
from typing import Any

from panoramisk import Manager
from panoramisk.actions import Action
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from agi_callbot.asterisk.ami_errors import (
    AmiActionError,
    AmiError,
    AmiLoginFailed,
    AmiTimeout,
    AmiUnavailable,
    describe_error,
)

log = logging.getLogger("agi_callbot.asterisk.ami")

#: first reconnect delay: Asterisk takes logins again ~0.26 s after a restart (transcript 05)
BACKOFF_MIN_S = 0.25
BACKOFF_MAX_S = 30.0
PING_INTERVAL_S = 20.0
#: added to the login deadline: Asterisk answers a wrong secret only after 1 s (transcript 01)
LOGIN_MARGIN_S = 1.5


class _Manager(Manager):
    """panoramisk's Manager used for one connection: no pinger, no reconnect of its own."""

    def __init__(self, on_lost: Any, **config: Any) -> None:
        super().__init__(**config)
        self._on_lost = on_lost

    def ping(self) -> None:
        """Disabled: the client pings with a deadline (panoramisk's ping has none)."""

    def connection_lost(self, exc: Any) -> None:
        self._connected = False
        self._on_lost(exc)


@dataclass
class AmiStats:
    """Counters for ``snapshot()`` and the metrics collector."""

    connects: int = 0
    logins_failed: int = 0
    disconnects: int = 0
    actions: int = 0
    errors: int = 0
    timeouts: int = 0


class AmiClient:
    """One logged-in AMI session, kept up in the background, each request with a deadline.

    ``start()`` returns at once: a callbot must start (and take calls) while Asterisk
    is still booting. Requests made while not logged in fail at once with
    :class:`AmiUnavailable` rather than waiting for a connection.
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        timeout: float = 2.0,
        backoff_min: float = BACKOFF_MIN_S,
        backoff_max: float = BACKOFF_MAX_S,
        ping_interval: float = PING_INTERVAL_S,
        events: str = "off",
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self._secret = secret
        self.timeout = timeout
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.ping_interval = ping_interval
        #: the Login's ``Events:`` ("off", or classes such as "system,agent"); events go to
        #: ``on_event(message)``; ``on_session(True|False)`` hears of each login and its end
        self.events = events
        self.on_event: Any = None
        self.on_session: Any = None
        self.stats = AmiStats()
        self.last_error = ""
        self._manager: _Manager | None = None
        self._logged_in = False
        self._ready = asyncio.Event()
        self._refused = asyncio.Event()
        self._pending: set[asyncio.Future[Any]] = set()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._ever_up = False

    def __repr__(self) -> str:  # never shows the secret
        return f"AmiClient({self.username}@{self.host}:{self.port})"

    @property
    def logged_in(self) -> bool:
        return self._logged_in

    @property
    def starting(self) -> bool:
        """The first connection is still being made (neither up nor failed yet)."""
        return self._task is not None and not self._ever_up and not self.last_error

    async def start(self) -> None:
        """Start the background session; returns before the first login."""
        if self._task is None:
            self._closing = False
            self._task = asyncio.create_task(self._run(), name=f"ami {self.host}:{self.port}")

    async def wait_ready(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for a login (``doctor``, tests); True if logged in.

        Returns early when Asterisk refused the login: retrying will not fix a secret.
        """
        waits = [asyncio.ensure_future(e.wait()) for e in (self._ready, self._refused)]
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        return self._logged_in

    async def aclose(self) -> None:
        """Log off (best effort, bounded) and stop reconnecting."""
        self._closing = True
        if self._logged_in:
            with contextlib.suppress(AmiError):
                await self.action("Logoff", timeout=min(self.timeout, 1.0))
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._drop(AmiUnavailable("AMI client closed"))

    # -- requests ---------------------------------------------------------------------

    async def action(self, name: str, *, timeout: float | None = None, **headers: str) -> Message:
        """Send one action; return its response. ``Response: Error`` raises AmiActionError."""
        response = await self._send(name, headers, as_list=False, timeout=timeout)
        assert isinstance(response, Message)
        if response.response == "Error":
            self.stats.errors += 1
            raise AmiActionError(f"{name}: {response.message or 'error'}")
        return response

    async def list_action(
        self, name: str, *, timeout: float | None = None, **headers: str
    ) -> list[Message]:
        """Send a list action (QueueStatus…); return the list events between start and Complete."""
        responses = await self._send(name, headers, as_list=None, timeout=timeout)
        if isinstance(responses, Message):  # a plain response: Error, or an empty non-list
            if responses.response == "Error":
                self.stats.errors += 1
                raise AmiActionError(f"{name}: {responses.message or 'error'}")
            return []
        events = [m for m in responses[1:] if m.event and not m.event.endswith("Complete")]
        complete = responses[-1]
        expected = complete.listitems
        if expected and expected.isdigit() and int(expected) != len(events):
            log.warning("AMI %s: ListItems %s but %d events", name, expected, len(events))
        return events

    async def command(self, cli: str, *, timeout: float | None = None) -> list[str]:
        """Run a CLI command (needs ``write = command``); return its output lines."""
        response = await self.action("Command", timeout=timeout, Command=cli)
        output = response.get("Output", [])
        lines = output if isinstance(output, list) else [output]
        if response.content:
            lines += response.content.splitlines()
        return [line for line in lines if line.strip()]

    async def _send(
        self, name: str, headers: dict[str, str], *, as_list: bool | None, timeout: float | None
    ) -> Message | list[Message]:
        manager = self._manager
        if manager is None or not self._logged_in:
            raise AmiUnavailable(f"AMI not logged in ({self.last_error or 'connecting'})")
        return await self._request(
            manager, Action({"Action": name, **headers}, as_list=as_list), timeout
        )

    async def _request(
        self, manager: _Manager, action: Action, timeout: float | None
    ) -> Message | list[Message]:
        deadline = self.timeout if timeout is None else timeout
        future: asyncio.Future[Any] = manager.send_action(action, as_list=action.as_list)
        self._pending.add(future)
        self.stats.actions += 1
        try:
            return await asyncio.wait_for(asyncio.shield(future), deadline)
        except TimeoutError:
            self.stats.timeouts += 1
            raise AmiTimeout(f"AMI {action['Action']}: no answer within {deadline:g}s") from None
        finally:
            self._pending.discard(future)
            if not future.done():
                future.cancel()
            protocol = manager.protocol
            if protocol is not None:
                protocol.responses.pop(action.id, None)

    # -- the session --------------------------------------------------------------------

    async def _run(self) -> None:
        delay = self.backoff_min
        while not self._closing:
            try:
                ended = await self._session()
                if self._closing:
                    break
                self._note_error(ended)
                delay = self.backoff_min  # the session was up: start again from the minimum
            except AmiLoginFailed as exc:
                self._note_error(str(exc))
                self._refused.set()
                delay = self.backoff_max
            except (OSError, AmiError) as exc:
                self._note_error(describe_error(exc))
            except Exception as exc:  # a bug (ours or panoramisk's) must not end reconnecting
                log.exception("AMI %s:%s: unexpected error", self.host, self.port)
                self._note_error(describe_error(exc))
            if self._closing:
                break
            await asyncio.sleep(delay * random.uniform(0.9, 1.1))
            delay = min(delay * 2, self.backoff_max)

    async def _session(self) -> str:
        """Connect, log in, keep the session alive; return why it ended (raise if never up)."""
        loop = asyncio.get_running_loop()
        lost = asyncio.Event()

        def on_lost(exc: Any) -> None:
            self._logged_in = False
            self._ready.clear()
            lost.set()
            self._drop(AmiUnavailable("AMI connection lost"))

        try:
            transport, protocol = await asyncio.wait_for(
                loop.create_connection(AMIProtocol, self.host, self.port), self.timeout
            )
        except TimeoutError:
            raise AmiTimeout(f"connect to {self.host}:{self.port} timed out") from None
        manager = _Manager(
            on_lost,
            host=self.host,
            port=self.port,
            events="off",
            loop=loop,
            ping_delay=1 << 30,
            forgetable_actions=(),
        )
        connected: asyncio.Future[Any] = loop.create_future()
        connected.set_result((transport, protocol))
        manager.connection_made(connected)
        told = False  # on_session(True) was called: call on_session(False) at the end
        if self.on_event is not None:
            manager.register_event("*", lambda _, message: self.on_event(message))
        self._manager = manager
        self.stats.connects += 1
        try:
            await self._login(manager)
            self._logged_in = True
            self._ever_up = True
            self._refused.clear()
            self._ready.set()
            if self.last_error:
                log.info("AMI %s:%s: logged in again", self.host, self.port)
            else:
                log.info("AMI %s:%s: logged in as %s", self.host, self.port, self.username)
            self.last_error = ""
            self._tell_session(True)
            told = True
            return await self._keepalive(manager, lost)
        finally:
            if told:
                self._tell_session(False)
            self._logged_in = False
            self._ready.clear()
            manager.close()
            self._manager = None
            if not self._closing:
                self.stats.disconnects += 1

    async def _login(self, manager: _Manager) -> None:
        action = Action(
            {
                "Action": "Login",
                "Username": self.username,
                "Secret": self._secret,
                "Events": self.events,
            },
            as_list=False,
        )
        response = await self._request(manager, action, self.timeout + LOGIN_MARGIN_S)
        assert isinstance(response, Message)
        if response.response != "Success":
            self.stats.logins_failed += 1
            raise AmiLoginFailed(
                f"AMI login as {self.username!r} refused: {response.message or response.response}"
            )

    async def _keepalive(self, manager: _Manager, lost: asyncio.Event) -> str:
        """Ping with a deadline until the session ends; return why it ended.

        A peer that stops answering (half-open TCP, a hung Asterisk) ends the session.
        """
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), self.ping_interval)
            if lost.is_set():
                return "connection lost"
            try:
                await self._request(manager, Action({"Action": "Ping"}, as_list=False), None)
            except AmiTimeout:
                return "Ping unanswered: connection dropped"
            except AmiUnavailable:
                return "connection lost"

    def _tell_session(self, up: bool) -> None:
        if self.on_session is not None:
            try:
                self.on_session(up)
            except Exception:  # a listener's bug must not end the session
                log.exception("AMI session listener failed")

    def _drop(self, exc: AmiError) -> None:
        for future in list(self._pending):
            if not future.done():
                future.set_exception(exc)
        self._pending.clear()

    def _note_error(self, message: str) -> None:
        if message != self.last_error:
            log.warning("AMI %s:%s: %s (retrying in the background)", self.host, self.port, message)
        self.last_error = message

    def snapshot(self) -> dict[str, Any]:
        """Connection figures for ``doctor``, ``/readyz`` and the metrics collector."""
        return {
            "host": f"{self.host}:{self.port}",
            "logged_in": self._logged_in,
            "last_error": self.last_error,
            "connects": self.stats.connects,
            "disconnects": self.stats.disconnects,
            "logins_failed": self.stats.logins_failed,
            "actions": self.stats.actions,
            "errors": self.stats.errors,
            "timeouts": self.stats.timeouts,
        }
