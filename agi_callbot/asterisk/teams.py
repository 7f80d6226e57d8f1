"""Teams over AMI: "is anyone free in team X?" before a caller is queued.

A team is the Asterisk queue of the same name. :class:`Teams` is the flows'
:class:`~agi_callbot.services.TeamService` on an
:class:`~agi_callbot.asterisk.ami.AmiClient`; ``None`` means "don't know" and the
transfer goes ahead unchecked. :class:`NoTeams` stands in when AMI is disabled.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from panoramisk.message import Message

from agi_callbot import metrics
from agi_callbot.asterisk.ami import AmiClient, AmiError, describe_error
from agi_callbot.config import Settings
from agi_callbot.errors import ConfigError
from agi_callbot.log import read_secret
from agi_callbot.services import Availability

log = logging.getLogger("agi_callbot.asterisk.ami")


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

    def __init__(self, client: AmiClient, *, timeout: float | None = None) -> None:
        self.client = client
        self.timeout = client.timeout if timeout is None else timeout
        self._last: dict[str, tuple[float, Availability]] = {}
        self._remove_collector: Any = None

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
        client = AmiClient(ami.host, ami.port, ami.username, password, timeout=ami.timeout)
        return cls(client)

    async def start(self) -> None:
        await self.client.start()
        self._remove_collector = metrics.add_collector(self._collect)

    async def aclose(self) -> None:
        if self._remove_collector is not None:
            self._remove_collector()
            self._remove_collector = None
        await self.client.aclose()

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
