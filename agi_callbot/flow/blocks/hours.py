"""``hours``: open / closed / holiday (:func:`agi_callbot.flow.hours.route`) at the moment
the services' clock gives (simulations and tests fix it)."""

from __future__ import annotations

from datetime import UTC, datetime

from agi_callbot.flow.blocks.call import Call, Next, Outcome
from agi_callbot.flow.blocks.registry import runs
from agi_callbot.flow.hours import route
from agi_callbot.flow.model import Block


@runs("hours")
async def run(call: Call, block: Block) -> Outcome:
    moment = datetime.fromtimestamp(call.services.clock.now(), tz=UTC)
    state, target = route(block.spec, moment)
    call.note("hours", state=state, goto=target)
    return Next(target)
