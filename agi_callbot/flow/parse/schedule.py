"""The ``hours`` block: a week of opening hours, holidays and a time zone."""

from __future__ import annotations

import itertools
import re
from datetime import date, datetime, time
from typing import Any

from yaml.nodes import Node, ScalarNode

from agi_callbot.flow import model as m
from agi_callbot.flow.parse.values import Context, block, block_fields, is_null, timezone
from agi_callbot.flow.reader import did_you_mean

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")


HOURS_KEYS = ("timezone", "week", "holidays", "open", "closed", "holiday")


@block("hours", HOURS_KEYS)
def parse_hours(node: Node, ctx: Context) -> m.BlockSpec | None:
    e = block_fields(node, ctx, "hours", ("week", "open", "closed"))
    if e is None:
        return None
    zone = ctx.timezone
    if "timezone" in e:
        zone = timezone(e["timezone"][1], ctx) or zone
    week = schedule(e["week"][1], ctx)
    dates, yearly = holidays(e["holidays"][1], ctx) if "holidays" in e else (set(), set())
    open_, closed = ctx.target(e["open"][1], "open"), ctx.target(e["closed"][1], "closed")
    holiday = ctx.target(e["holiday"][1], "holiday") if "holiday" in e else None
    if week is None or not open_ or not closed:
        return None
    return m.Hours(zone, week, open_, closed, holiday, frozenset(dates), frozenset(yearly))


def schedule(node: Node, ctx: Context) -> tuple[m.Ranges, ...] | None:
    """``{mon-fri: "09:00-14:00, 16:00-19:00", sat: "10:00-13:00", sun: closed}``."""
    r = ctx.reader
    entries = r.mapping(node, "week")
    if entries is None:
        return None
    week: list[m.Ranges | None] = [None] * 7
    for spec, (key_node, value_node) in entries.items():
        days = weekdays(spec, key_node, ctx)
        ranges = day_ranges(value_node, ctx)
        for day in days:
            if week[day] is not None:
                r.error(key_node, f"week: {DAYS[day]} is given twice")
            week[day] = ranges
    return tuple(day or () for day in week)


def weekdays(spec: str, node: Node, ctx: Context) -> list[int]:
    """``mon-fri``, ``sat,sun``, ``wed`` → weekday numbers (Monday 0)."""
    out: list[int] = []
    for part in spec.lower().replace(" ", "").split(","):
        ends = part.split("-")
        bad = [d for d in ends if d not in DAYS]
        if len(ends) > 2 or bad or not part:
            word = bad[0] if bad else part
            ctx.reader.error(
                node,
                f"week: {spec!r} is not days such as mon-fri or sat,sun{did_you_mean(word, DAYS)}",
            )
            return []
        first, last = DAYS.index(ends[0]), DAYS.index(ends[-1])
        if last < first:
            ctx.reader.error(node, f"week: {part!r} runs backwards (write e.g. mon-fri)")
            return []
        out.extend(range(first, last + 1))
    return out


def day_ranges(node: Node, ctx: Context) -> m.Ranges:
    """``"09:00-14:00, 16:00-19:00"``, a list of them, or ``closed``/``false``."""
    r = ctx.reader
    if isinstance(node, ScalarNode) and node.tag.endswith(":bool"):
        if r.scalar(node) is True:
            r.error(node, "opening hours: write the hours (09:00-14:00), or closed")
        return ()
    if is_null(node) or (isinstance(node, ScalarNode) and node.value == "closed"):
        return ()
    parts: list[str] = []
    if isinstance(node, ScalarNode):
        parts = node.value.split(",")
    else:
        for item in r.sequence(node, "opening hours") or []:
            value = r.string(item, "opening hours")
            parts.extend(value.split(",") if value else [])
    ranges: list[tuple[time, time | None]] = []
    for part in parts:
        match = _RANGE.fullmatch(part)
        start = clock(*match.groups()[:2]) if match else None
        end = clock(*match.groups()[2:], end=True) if match else None
        if start is None or end is False:
            r.error(node, f"opening hours {part.strip()!r}: write HH:MM-HH:MM (24-hour)")
            continue
        if end is not None and end <= start:
            r.error(node, f"opening hours {part.strip()!r} end before they start")
            continue
        ranges.append((start, end))
    ranges.sort(key=lambda span: span[0])
    for (_, end), (start, _) in itertools.pairwise(ranges):
        if end is None or start < end:
            r.error(node, "opening hours overlap")
            break
    return tuple(ranges)


def clock(hours: str, minutes: str, *, end: bool = False) -> Any:
    """A wall-clock time; ``24:00`` (only as an end) is None; invalid → None / False."""
    h, mi = int(hours), int(minutes)
    if end and (h, mi) == (24, 0):
        return None
    if h > 23 or mi > 59:
        return False if end else None
    return time(h, mi)


def holidays(node: Node, ctx: Context) -> tuple[set[date], set[tuple[int, int]]]:
    """Dates (``2026-12-25``) and yearly days (``"12-25"``)."""
    r = ctx.reader
    dates: set[date] = set()
    yearly: set[tuple[int, int]] = set()
    for item in r.sequence(node, "holidays") or []:
        value = r.scalar(item) if isinstance(item, ScalarNode) else None
        if value is None and item.tag.endswith(":timestamp"):
            continue  # not a real date: the reader said so
        if isinstance(value, date) and not isinstance(value, datetime):
            dates.add(value)
            continue
        text_value = str(value) if isinstance(value, str) else ""
        match = re.fullmatch(r"(\d{2})-(\d{2})", text_value)
        try:
            if not match:
                raise ValueError
            date(2024, int(match.group(1)), int(match.group(2)))  # a leap year: 02-29 is valid
            yearly.add((int(match.group(1)), int(match.group(2))))
        except ValueError:
            r.error(
                item,
                f"holiday {item.value if isinstance(item, ScalarNode) else ''!r}: "
                "write a date 2026-12-25 or a yearly day '12-25'",
            )
    return dates, yearly
