"""Business hours by weekday, holidays, time zones and the nights clocks change."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from agi_callbot.flow.hours import route, status
from agi_callbot.flow.model import Hours

WEEKDAY = ((time(9), time(14)), (time(16), time(19)))


def hours(zone: str = "Europe/Madrid", **overrides) -> Hours:
    fields = {
        "timezone": zone,
        "week": (WEEKDAY,) * 5 + (((time(10), time(13)),), ()),
        "open": "open_b",
        "closed": "closed_b",
        "holiday": "holiday_b",
        "holidays": frozenset({date(2026, 12, 8)}),
        "yearly": frozenset({(12, 25), (1, 1)}),
    }
    return Hours(**{**fields, **overrides})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        # Wednesday 2026-11-25, Madrid is UTC+1 in winter
        (utc(2026, 11, 25, 7, 59), "closed"),  # 08:59 local
        (utc(2026, 11, 25, 8, 0), "open"),  # 09:00 local: start included
        (utc(2026, 11, 25, 12, 59), "open"),
        (utc(2026, 11, 25, 13, 0), "closed"),  # 14:00: end excluded
        (utc(2026, 11, 25, 15, 30), "open"),  # 16:30, second range
        (utc(2026, 11, 25, 18, 0), "closed"),  # 19:00
        (utc(2026, 11, 28, 10, 0), "open"),  # Saturday 11:00
        (utc(2026, 11, 29, 10, 0), "closed"),  # Sunday
        (utc(2026, 12, 8, 10, 0), "holiday"),  # a dated holiday, a Tuesday
        (utc(2027, 12, 8, 10, 0), "open"),  # not the next year
        (utc(2027, 12, 24, 23, 30), "holiday"),  # already the 25th in Madrid
        (utc(2030, 1, 1, 10, 0), "holiday"),  # yearly
    ],
)
def test_week_and_holidays(instant: datetime, expected: str) -> None:
    assert status(hours(), instant) == expected


def test_the_zone_decides_the_local_clock() -> None:
    instant = utc(2026, 11, 25, 8, 30)  # 09:30 Madrid, 03:30 New York, 17:30 Tokyo
    assert status(hours("Europe/Madrid"), instant) == "open"
    assert status(hours("America/New_York"), instant) == "closed"
    assert status(hours("Asia/Tokyo"), instant) == "open"
    same_instant = instant.astimezone(timezone(timedelta(hours=-5)))
    assert status(hours("Europe/Madrid"), same_instant) == "open"


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        # Madrid goes to summer time on Sunday 2026-03-29 at 02:00 → 03:00.
        (utc(2026, 3, 27, 7, 30), "closed"),  # Friday, winter: 08:30 local
        (utc(2026, 3, 30, 7, 30), "open"),  # Monday, summer: 09:30 local
        (utc(2026, 3, 30, 12, 30), "closed"),  # summer: 14:30 local
        (utc(2026, 3, 27, 12, 30), "open"),  # winter: 13:30 local
        # Back to winter time on Sunday 2026-10-25 at 03:00 → 02:00.
        (utc(2026, 10, 23, 7, 30), "open"),  # Friday, summer: 09:30
        (utc(2026, 10, 26, 7, 30), "closed"),  # Monday, winter: 08:30
    ],
)
def test_opening_hours_follow_the_local_clock_across_dst(instant, expected) -> None:
    assert status(hours(), instant) == expected


def test_the_repeated_and_the_skipped_hour() -> None:
    night = hours(week=(((time(2), time(3)),),) * 7, holidays=frozenset(), yearly=frozenset())
    # 2026-10-25: 02:30 local happens twice (00:30Z in summer time, 01:30Z in winter time)
    assert status(night, utc(2026, 10, 25, 0, 30)) == "open"
    assert status(night, utc(2026, 10, 25, 1, 30)) == "open"
    assert status(night, utc(2026, 10, 25, 2, 30)) == "closed"  # 03:30 local
    # 2026-03-29: 02:00-03:00 never happens; 00:59Z is 01:59 CET, 01:00Z is 03:00 CEST
    assert status(night, utc(2026, 3, 29, 0, 59)) == "closed"
    assert status(night, utc(2026, 3, 29, 1, 0)) == "closed"


def test_until_midnight() -> None:
    late = hours(week=(((time(20), None),),) * 7, holidays=frozenset(), yearly=frozenset())
    assert status(late, utc(2026, 11, 25, 22, 59)) == "open"  # 23:59 local
    assert status(late, utc(2026, 11, 25, 23, 0)) == "closed"  # 00:00 the next day


def test_route_and_holiday_fallback() -> None:
    assert route(hours(), utc(2026, 11, 25, 9, 0)) == ("open", "open_b")
    assert route(hours(), utc(2026, 11, 29, 9, 0)) == ("closed", "closed_b")
    assert route(hours(), utc(2026, 12, 8, 9, 0)) == ("holiday", "holiday_b")
    assert route(hours(holiday=None), utc(2026, 12, 8, 9, 0)) == ("holiday", "closed_b")


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        status(hours(), datetime(2026, 11, 25, 9, 0))


def test_loaded_hours_block(flows) -> None:
    flow = flows.load(
        """
        flow: t
        timezone: Atlantic/Canary
        blocks:
          office:
            hours:
              week: {mon-fri: "08:00-15:00"}
              holidays: ["05-30"]
              open: a
              closed: b
          a: {say: open}
          b: {say: closed}
        """
    )
    spec = flow.blocks["office"].spec
    assert spec.timezone == "Atlantic/Canary"
    assert route(spec, utc(2026, 11, 25, 8, 0)) == ("open", "a")  # 08:00 in the Canaries
    assert route(spec, utc(2026, 5, 29, 7, 30)) == ("open", "a")  # summer: 08:30 WEST
    assert route(spec, utc(2026, 5, 29, 6, 30)) == ("closed", "b")  # 07:30 WEST
    assert route(spec, utc(2026, 5, 30, 9, 0)) == ("holiday", "b")  # Canary Islands Day
