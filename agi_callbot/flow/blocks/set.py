"""``set: {var: value}`` as a block: variables, then ``next``."""

from __future__ import annotations

from agi_callbot.flow.blocks.actions import apply_set
from agi_callbot.flow.blocks.call import Call, Next, Outcome
from agi_callbot.flow.blocks.registry import runs
from agi_callbot.flow.model import Block


@runs("set")
async def run(call: Call, block: Block) -> Outcome:
    apply_set(call, block.spec.values)
    return Next(block.next)
