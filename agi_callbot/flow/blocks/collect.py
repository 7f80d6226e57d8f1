"""``collect``: the I/O around :class:`agi_callbot.flow.menu.Collector`.

The prompt and the digits are one GET DATA (Asterisk plays, then reads keys until
``#``, ``max_digits`` or the timeout); the collector checks length and pattern and
says whether to retry. A retry's notice (``no_input`` / ``invalid``) plays with
STREAM FILE first; a key pressed during it starts the entry, which then goes on key
by key with WAIT FOR DIGIT.
"""

from __future__ import annotations

from agi_callbot.errors import NoValidInput
from agi_callbot.flow.blocks.call import Call, Next, Outcome
from agi_callbot.flow.blocks.prompt import play, resolve
from agi_callbot.flow.blocks.registry import runs
from agi_callbot.flow.menu import TIMEOUT, Collected, Collector, CollectStep, Fail, Play, Wait
from agi_callbot.flow.model import Block, Collect


@runs("collect")
async def run(call: Call, block: Block) -> Outcome:
    spec: Collect = block.spec
    machine = Collector(spec)
    step = machine.start()
    while True:
        if isinstance(step, Play):
            step = await _prompt_and_digits(call, machine, step)
        elif isinstance(step, Wait):
            key = await call.channel.wait_for_digit(round(step.timeout * 1000))
            step = machine.feed(key or TIMEOUT)
            if isinstance(step, Play):
                call.note("digits", digits="", valid=False, reason=step.reason)
        elif isinstance(step, Collected):
            call.note("digits", digits=step.value, valid=True)
            call.set(spec.var, step.value)
            call.digits.append({"block": block.name, "var": spec.var, "digits": step.value})
            return Next(block.next)
        else:
            assert isinstance(step, Fail)
            call.note("digits", digits="", valid=False, reason=step.reason)
            if spec.on_fail:
                return Next(spec.on_fail)
            raise NoValidInput(f"collect {block.name}: no valid input after {step.attempts} tries")


async def _prompt_and_digits(call: Call, machine: Collector, step: Play) -> CollectStep:
    *notices, prompt = step.prompts
    for notice in notices:
        digit = await play(call, notice, step.escape)
        if digit:
            return machine.feed(digit)
    spoken = await resolve(call, prompt)
    call.said(spoken.text)
    spec = machine.collect
    got = await call.channel.get_data(
        spoken.file,
        timeout_ms=round(step.timeout * 1000),
        max_digits=spec.max_digits,
        length=spoken.length,
    )
    following = machine.submit(got.digits, got.timed_out)
    if isinstance(following, Play):
        call.note("digits", digits=got.digits, valid=False, reason=following.reason)
    return following
