"""``branch: [{if: expr, goto: block}, …, {else: block}]``: the first true case wins.

No case true and no ``else``: the block's ``next`` (None ends the call). A condition
naming a variable that is not set raises, and the runner takes the error branch.
"""

from __future__ import annotations

from agi_callbot.flow.blocks.call import Call, Next, Outcome
from agi_callbot.flow.blocks.registry import runs
from agi_callbot.flow.model import Block


@runs("branch")
async def run(call: Call, block: Block) -> Outcome:
    for case in block.spec.cases:
        if case.condition.expr.test(call.variables):
            call.note("branch", condition=case.condition.source, goto=case.goto)
            return Next(case.goto)
    target = block.spec.default or block.next
    call.note("branch", condition="else", goto=target)
    return Next(target)
