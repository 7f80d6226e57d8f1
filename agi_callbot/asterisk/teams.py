"""Teams over AMI: "is anyone free in team X?" before a caller is queued.

A team is the Asterisk queue of the same name. :class:`Teams` is the flows'
:class:`~agi_callbot.services.TeamService` on an
:class:`~agi_callbot.asterisk.ami.AmiClient`; ``None`` means "don't know" and the
transfer goes ahead unchecked. :class:`NoTeams` stands in when AMI is disabled.

The session logs in with ``Events: system,agent`` (app_queue's events are of class
``agent``; ``FullyBooted``, ``Reload`` and ``Shutdown`` of class ``system``; the call
class — 85 ``VarSet`` for one queued call, transcript 03 — is left out) and keeps
:attr:`Teams.state`, the live model of every queue
(:class:`~agi_callbot.asterisk.queue_state.QueueState`): seeded by ``QueueStatus`` at
each login, after ``FullyBooted`` / ``Reload`` and every :data:`RESYNC_S` seconds,
moved by the events in between. The console reads it; nothing asks Asterisk for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from panoramisk.message import Message

from agi_callbot import metrics
from agi_callbot.asterisk.ami import AmiClient, AmiError, describe_error
from agi_callbot.asterisk.queue_state import QueueState
from agi_callbot.config import Settings
from agi_callbot.errors import ConfigError
from agi_callbot.log import read_secret
from agi_callbot.services import Availability

log = logging.getLogger("agi_callbot.asterisk.ami")

#: event classes the session asks for (the live queues); "off" for none
EVENTS = "system,agent"
#: the live model is seeded again this often even when no event said so (a safety net)
RESYNC_S = 300.0
#: a QueueStatus of every queue may take longer than one small action
SEED_TIMEOUT_S = 10.0


def _int(message: Message, header: str) -> int:
    value = message.get(header, "")
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class Teams:
    """:class:`agi_callbot.services.TeamService` over AMI: one queue per team.

    ``availability`` asks ``QueueStatus`` (the queue exists iff a ``QueueParams`` event
    comes back; members and their pause state) and ``QueueSummary`` (``Available``:
    logged in, not paused, device free — what Queue() would ring with ``ringinuse = no``
    and no wrap-up time) at the same time, under one deadline.
    """

    def __init__(
        self, client: AmiClient, *, timeout: float | None = None, resync: float = RESYNC_S
    ) -> None:
        self.client = client
        self.timeout = client.timeout if timeout is None else timeout
        self.resync = resync
        self._last: dict[str, tuple[float, Availability]] = {}
        self._remove_collector: Any = None
        #: the live queues; kept only when the session receives events
        self.state = QueueState()
        self._seeder: asyncio.Task[None] | None = None
        if client.events != "off":
            client.on_event = self._event
            client.on_session = self._session_changed

    @classmethod
    def from_settings(cls, settings: Settings) -> Teams | NoTeams:
        ami = settings.ami
        if not ami.enabled:
            return NoTeams()
        password = read_secret(ami.secret_env)
        if password is None:
            raise ConfigError(
                f"ami.enabled is true but the environment variable {ami.secret_env!r} "
                "(ami.secret_env) holding the AMI secret is unset or empty"
            )
        client = AmiClient(
            ami.host, ami.port, ami.username, password, timeout=ami.timeout, events=EVENTS
        )
        return cls(client)

    @property
    def live(self) -> bool:
        """True when the queues are kept from events (the session asks for them)."""
        return self.client.events != "off"

    async def start(self) -> None:
        await self.client.start()
        self._remove_collector = metrics.add_collector(self._collect)
        if self.live and self._seeder is None:
            self._seeder = asyncio.create_task(self._keep_seeded(), name="ami queue state")

    async def aclose(self) -> None:
        if self._remove_collector is not None:
            self._remove_collector()
            self._remove_collector = None
        if self._seeder is not None:
            self._seeder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._seeder
            self._seeder = None
        await self.client.aclose()

    def _event(self, message: Message) -> None:
        """One AMI event into the model; a bug here must not break the session's reading."""
        try:
            self.state.apply(message)
        except Exception:
            log.exception("AMI event %s could not be applied", message.get("Event"))
            self.state.stale.set()

    def _session_changed(self, up: bool) -> None:
        """A login seeds the model; the end of a session forgets it (Asterisk may be
        restarting: nothing of the old session survives, transcript 05)."""
        if up:
            self.state.stale.set()
        else:
            self.state.clear()

    async def _keep_seeded(self) -> None:
        """Seed the live model whenever it is stale, and every ``resync`` seconds."""
        failures = 0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.state.stale.wait(), self.resync)
            self.state.stale.clear()
            if not self.client.logged_in:
                continue  # the next login asks again
            self.state.seeding()
            try:
                status = await self.client.list_action(
                    "QueueStatus", timeout=max(self.timeout, SEED_TIMEOUT_S)
                )
            except AmiError as exc:
                self.state.seed_failed()
                failures += 1
                delay = min(2.0**failures, 60.0)
                log.info("AMI queue state not read (%s): again in %gs", describe_error(exc), delay)
                await asyncio.sleep(delay)
                self.state.stale.set()
                continue
            failures = 0
            self.state.seed(status)
            log.debug("AMI queue state seeded: %d queues", len(self.state.queues))

    def hold_time(self, uniqueid: str) -> int | None:
        """Asterisk's HoldTime of an answered caller (AgentConnect), for the call record."""
        return self.state.hold_time(uniqueid) if self.live else None

    async def availability(self, team: str) -> Availability | None:
        """The team's queue right now; ``None`` when AMI cannot say in time."""
        try:
            found = await asyncio.wait_for(self._ask_when_up(team), self.timeout)
        except TimeoutError:
            self.client.stats.timeouts += 1
            log.info("team %s: availability unknown (no answer within %gs)", team, self.timeout)
            return None
        except AmiError as exc:
            log.info(
                "team %s: availability unknown (%s): transfer unchecked", team, describe_error(exc)
            )
            return None
        self._last[team] = (time.monotonic(), found)
        return found

    async def _ask_when_up(self, team: str) -> Availability:
        """A process that just started (classic AGI: one per call) waits for its first
        login within the same deadline instead of answering "unknown" at once."""
        if self.client.starting:
            await self.client.wait_ready(self.timeout)
        return await self._ask(team)

    async def _ask(self, team: str) -> Availability:
        status, summary = await asyncio.gather(
            self.client.list_action("QueueStatus", Queue=team),
            self.client.list_action("QueueSummary", Queue=team),
        )
        params = [e for e in status if e.event == "QueueParams" and e.queue == team]
        if not params:
            return Availability(False, 0, 0, 0, 0, 0.0)
        members = [e for e in status if e.event == "QueueMember" and e.queue == team]
        entries = [e for e in status if e.event == "QueueEntry" and e.queue == team]
        paused = sum(1 for m in members if m.get("Paused") == "1")
        rows = [e for e in summary if e.event == "QueueSummary" and e.queue == team]
        if rows:
            row = rows[0]
            return Availability(
                exists=True,
                members=_int(row, "LoggedIn"),
                available=_int(row, "Available"),
                paused=paused,
                callers=_int(row, "Callers"),
                longest_wait_s=float(_int(row, "LongestHoldTime")),
            )
        # a queue created between the two answers: count from QueueStatus alone
        free = sum(1 for m in members if m.get("Status") in ("0", "1") and m.get("Paused") == "0")
        waits = [_int(e, "Wait") for e in entries]
        return Availability(
            True, len(members), free, paused, len(entries), float(max(waits, default=0))
        )

    def snapshot(self) -> dict[str, Any]:
        """Connection figures plus the last availability seen per team, with its age."""
        now = time.monotonic()
        figures: dict[str, Any] = {"enabled": True, **self.client.snapshot()}
        figures["live"] = {
            "on": self.live,
            "seeds": self.state.seeds,
            "events": self.state.events,
            "unknown_queue_events": self.state.unknown,
            "queues": len(self.state.queues),
        }
        figures["teams"] = {
            team: {
                "exists": a.exists,
                "members": a.members,
                "available": a.available,
                "paused": a.paused,
                "callers": a.callers,
                "longest_wait_s": a.longest_wait_s,
                "age_s": round(now - at, 3),
            }
            for team, (at, a) in sorted(self._last.items())
        }
        return figures

    async def _collect(self) -> None:
        """Scrape-time refresh of the teams calls have asked about (metrics.add_collector)."""
        metrics.ami_connected.set(1 if self.client.logged_in else 0)
        if not self.client.logged_in:
            return
        if self.state.seeded_at is not None:  # the live model knows every queue: no request
            for name, queue in self.state.board().items():
                metrics.queue_available.labels(team=name).set(queue["available"])
            return
        teams = list(self._last)
        found = await asyncio.gather(*(self.availability(team) for team in teams))
        for team, availability in zip(teams, found, strict=True):
            if availability is not None and availability.exists:
                metrics.queue_available.labels(team=team).set(availability.available)


class NoTeams:
    """AMI disabled: transfers go ahead without asking whether anyone is free."""

    async def start(self) -> None:
        log.warning(
            "AMI disabled (ami.enabled: false): transfers will not check whether "
            "anyone in the team is available"
        )

    async def aclose(self) -> None:
        return None

    async def availability(self, team: str) -> None:
        return None

    def snapshot(self) -> dict[str, Any]:
        return {"enabled": False}
