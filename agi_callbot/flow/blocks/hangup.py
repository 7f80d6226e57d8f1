"""``hangup: {message}`` ends the call after its final message; ``return`` hands the call
back to the dialplan without hanging up (it continues after ``AGI()``)."""

from __future__ import annotations

from agi_callbot.flow.blocks.call import COMPLETED, Call, End, Outcome
from agi_callbot.flow.blocks.prompt import play
from agi_callbot.flow.blocks.registry import runs
from agi_callbot.flow.expr import interpolate
from agi_callbot.flow.model import Block


@runs("hangup")
async def run_hangup(call: Call, block: Block) -> Outcome:
    if block.spec.message is not None:
        await play(call, block.spec.message)
    return End(COMPLETED, _result(call, block.spec.result), hangup=True)


@runs("return")
async def run_return(call: Call, block: Block) -> Outcome:
    return End(COMPLETED, _result(call, block.spec.result), hangup=False)


def _result(call: Call, result: str | None) -> str:
    return interpolate(result, call.variables) if result else call.block
