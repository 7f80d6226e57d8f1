"""``subflow: name``: run another flow's blocks on the same call, then this block's ``next``.

The sub-flow was pinned with the main flow when the call started (a file edited
mid-call changes nothing for it). It shares the call's variables; ``vars`` are set
first. A ``hangup`` or ``return`` inside it ends the call as anywhere else.
"""

from __future__ import annotations

from agi_callbot.errors import MissingSubflow, SubflowTooDeep
from agi_callbot.flow.blocks.call import Call, End, Next, Outcome
from agi_callbot.flow.blocks.registry import runs
from agi_callbot.flow.expr import interpolate
from agi_callbot.flow.model import Block, Subflow

#: sub-flows inside sub-flows deeper than this are a loop, not a design
MAX_DEPTH = 8


@runs("subflow")
async def run(call: Call, block: Block) -> Outcome:
    from agi_callbot.flow.runner import walk  # the runner imports every block kind

    spec: Subflow = block.spec
    flow = call.subflows.get(spec.flow)
    if flow is None:
        raise MissingSubflow(f"sub-flow {spec.flow!r} is not loaded")
    for name, value in spec.vars.items():
        call.set(name, interpolate(value, call.variables) if isinstance(value, str) else value)
    if call.depth >= MAX_DEPTH:
        raise SubflowTooDeep(f"sub-flow {spec.flow!r}: more than {MAX_DEPTH} sub-flows deep")
    outer = call.current_flow
    call.note("subflow", flow=spec.flow)
    call.depth += 1
    try:
        outcome = await walk(call, flow)
    finally:
        call.depth -= 1
        call.current_flow = outer
    if isinstance(outcome, End):
        return outcome
    return Next(block.next)
