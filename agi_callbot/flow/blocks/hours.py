"""``hours``: open / closed / holiday from the week's opening ranges in a time zone.

The moment comes from the services' clock (simulations and tests fix it), read in
the block's time zone, so a server in UTC serves a Madrid office correctly across
daylight-saving changes. A holiday date (or a yearly ``MM-DD``) wins over the week.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from agi_callbot.flow.blocks.call import Call, Next, Outcome
from agi_callbot.flow.blocks.registry import runs
from agi_callbot.flow.model import Block, Hours

OPEN = "open"
CLOSED = "closed"
HOLIDAY = "holiday"


def state_at(spec: Hours, moment: datetime) -> str:
    """``open``, ``closed`` or ``holiday`` for an aware ``moment``."""
    local = moment.astimezone(ZoneInfo(spec.timezone))
    day = local.date()
    if day in spec.holidays or (day.month, day.day) in spec.yearly:
        return HOLIDAY
    now = local.time().replace(tzinfo=None)
    for start, end in spec.week[local.weekday()]:
        if start <= now and (end is None or now < end):
            return OPEN
    return CLOSED


@runs("hours")
async def run(call: Call, block: Block) -> Outcome:
    spec: Hours = block.spec
    moment = datetime.fromtimestamp(call.services.clock.now(), tz=ZoneInfo("UTC"))
    state = state_at(spec, moment)
    target = {OPEN: spec.open, CLOSED: spec.closed, HOLIDAY: spec.holiday or spec.closed}[state]
    call.note("hours", state=state, goto=target)
    return Next(target)
