"""Business hours: is a team open now, closed, or off for a holiday?

Opening hours are wall-clock times in the flow's time zone, so "09:00-14:00" means
09:00 local time on every day, in winter and in summer: the instant is converted to
the zone first and the comparison is on the local clock. On the night clocks go
back, a local hour happens twice and both count; on the night they go forward the
skipped hour never happens. Holidays are local dates and win over the week.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from agi_callbot.flow.model import Hours

Status = Literal["open", "closed", "holiday"]


def status(hours: Hours, now: datetime) -> Status:
    """The status at instant ``now`` (an aware datetime, any zone)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("business hours need an aware datetime (a time zone), not a naive one")
    local = now.astimezone(ZoneInfo(hours.timezone))
    today = local.date()
    if today in hours.holidays or (today.month, today.day) in hours.yearly:
        return "holiday"
    clock = local.time().replace(tzinfo=None, fold=0)
    for start, end in hours.week[local.weekday()]:
        if start <= clock and (end is None or clock < end):
            return "open"
    return "closed"


def route(hours: Hours, now: datetime) -> tuple[Status, str]:
    """The status and the block to go to (a holiday without its own block is closed)."""
    found = status(hours, now)
    if found == "open":
        return found, hours.open
    if found == "holiday" and hours.holiday:
        return found, hours.holiday
    return found, hours.closed
