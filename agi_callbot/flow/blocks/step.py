"""A block with no kind key: its actions (run by the runner on entry), then ``next``."""

from __future__ import annotations

from agi_callbot.flow.blocks.call import Call, Next, Outcome
from agi_callbot.flow.blocks.registry import runs
from agi_callbot.flow.model import Block


@runs("step")
async def run(call: Call, block: Block) -> Outcome:
    return Next(block.next)
