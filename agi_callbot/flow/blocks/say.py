"""``say: "text"`` / ``play: sound/file``: speak, then go on to ``next``."""

from __future__ import annotations

from agi_callbot.flow.blocks.call import Call, Next, Outcome
from agi_callbot.flow.blocks.prompt import play
from agi_callbot.flow.blocks.registry import runs
from agi_callbot.flow.model import Block


@runs("say")
async def run(call: Call, block: Block) -> Outcome:
    await play(call, block.spec.prompt)
    return Next(block.next)
