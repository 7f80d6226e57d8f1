"""``collect``: digits into a variable, with length/pattern checks and retries.

One ``GET DATA`` per attempt: Asterisk plays the prompt, takes digits until ``#``,
``max_digits`` or the timeout. The prompt is replayed after the ``no_input`` /
``invalid`` message; after ``retries`` failed attempts the call goes to ``on_fail``.
"""

from __future__ import annotations

import re

from agi_callbot.flow.blocks.call import Call, Next, Outcome
from agi_callbot.flow.blocks.prompt import play, resolve
from agi_callbot.flow.blocks.registry import runs
from agi_callbot.flow.model import Block, Collect


class NoValidInput(LookupError):
    """The caller gave no valid input and the block has nowhere to go (no ``on_fail``)."""


@runs("collect")
async def run(call: Call, block: Block) -> Outcome:
    spec: Collect = block.spec
    pattern = re.compile(spec.pattern) if spec.pattern else None
    spoken = await resolve(call, spec.prompt)
    for attempt in range(spec.retries + 1):
        call.said(spoken.text)
        got = await call.channel.get_data(
            spoken.file, timeout_ms=round(spec.timeout * 1000), max_digits=spec.max_digits
        )
        digits = _until_terminator(got.digits, spec.terminator)
        problem = check(digits, spec, pattern)
        call.note("digits", digits=digits, valid=problem is None, attempt=attempt + 1)
        if problem is None:
            call.set(spec.var, digits)
            call.digits.append({"block": block.name, "var": spec.var, "digits": digits})
            return Next(block.next)
        if attempt < spec.retries:
            message = spec.no_input if problem == "no_input" else spec.invalid
            if message is not None:
                await play(call, message)
    if spec.on_fail:
        return Next(spec.on_fail)
    raise NoValidInput(f"collect {block.name}: no valid input after {spec.retries + 1} tries")


def check(digits: str, spec: Collect, pattern: re.Pattern[str] | None) -> str | None:
    """``None`` when ``digits`` is acceptable, else ``"no_input"`` or ``"invalid"``."""
    if not digits:
        return "no_input"
    if not spec.min_digits <= len(digits) <= spec.max_digits:
        return "invalid"
    if pattern is not None and not pattern.fullmatch(digits):
        return "invalid"
    return None


def _until_terminator(digits: str, terminator: str | None) -> str:
    """GET DATA ends on ``#`` by itself; another terminator is cut here."""
    if terminator and terminator in digits:
        return digits[: digits.index(terminator)]
    return digits
