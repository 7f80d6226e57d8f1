"""``menu``: the I/O around :class:`agi_callbot.flow.menu.MenuMachine`.

The machine decides (barge-in keys, retries, multi-digit options, repeat key); this
module plays what it says with STREAM FILE (its escape digits make barge-in work),
waits for keys with WAIT FOR DIGIT and feeds back each key or ``TIMEOUT``. A choice
runs the option's actions, then goes to its block; an option without a block plays
the menu again (a new machine: failures start over).
"""

from __future__ import annotations

from agi_callbot.errors import NoValidInput
from agi_callbot.flow.blocks.actions import run_actions
from agi_callbot.flow.blocks.call import Call, Next, Outcome
from agi_callbot.flow.blocks.prompt import play
from agi_callbot.flow.blocks.registry import runs
from agi_callbot.flow.menu import TIMEOUT, Choose, Fail, MenuMachine, Play, Wait
from agi_callbot.flow.model import Block, Menu


async def listen(call: Call, step: Play | Wait) -> str:
    """Play a step's prompts (interruptible by its escape keys), then wait for a key."""
    if isinstance(step, Play):
        for prompt in step.prompts:
            digit = await play(call, prompt, step.escape)
            if digit:
                return digit
    digit = await call.channel.wait_for_digit(round(step.timeout * 1000))
    return digit or TIMEOUT


@runs("menu")
async def run(call: Call, block: Block) -> Outcome:
    spec: Menu = block.spec
    machine = MenuMachine(spec)
    step = machine.start()
    keys = ""
    while True:
        if isinstance(step, Play | Wait):
            key = await listen(call, step)
            keys += "" if key == TIMEOUT else key
            step = machine.feed(key)
            if isinstance(step, Play):
                call.note("menu", entered=keys, outcome=step.reason)
                keys = ""
        elif isinstance(step, Choose):
            option = step.option
            call.note("menu", entered=keys, outcome="option")
            call.digits.append({"block": block.name, "digits": option.digits})
            if option.actions:
                await run_actions(call, option.actions, f"{block.name}.{option.digits}")
            if option.goto:
                return Next(option.goto)
            machine, keys = MenuMachine(spec), ""
            step = machine.start()
        else:
            assert isinstance(step, Fail)
            call.note("menu", entered=keys, outcome="fail")
            if spec.on_fail:
                return Next(spec.on_fail)
            raise NoValidInput(f"menu {block.name}: no valid choice after {step.attempts} tries")
