"""``goto: block``: jump (the runner's step bound stops a loop that never exits)."""

from __future__ import annotations

from agi_callbot.flow.blocks.call import Call, Next, Outcome
from agi_callbot.flow.blocks.registry import runs
from agi_callbot.flow.model import Block


@runs("goto")
async def run(call: Call, block: Block) -> Outcome:
    return Next(block.spec.target)
