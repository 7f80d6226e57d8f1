"""``menu``: a spoken menu driven by DTMF, with retries, barge-in and multi-digit options.

The prompt plays with STREAM FILE whose escape digits are the options' first keys
(and the repeat key), so a caller who knows the menu presses during the prompt
(barge-in). Without a press the channel waits ``timeout`` for one (WAIT FOR DIGIT).
An option longer than one key waits ``inter_digit`` for each next key; the terminator
ends the entry early. No input or a wrong entry plays ``no_input`` / ``invalid`` and
the menu again, ``retries`` times; then ``on_fail`` (typically a person).

The decisions are the pure :class:`MenuState` (digits in, what next out); this module
only does the I/O around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agi_callbot.flow.blocks.actions import run_actions
from agi_callbot.flow.blocks.call import Call, Next, Outcome
from agi_callbot.flow.blocks.collect import NoValidInput
from agi_callbot.flow.blocks.prompt import play
from agi_callbot.flow.blocks.registry import runs
from agi_callbot.flow.model import Block, Menu, Option

#: what the caller did: a key, or nothing within the timeout
TIMEOUT = None


@dataclass
class MenuState:
    """The menu's decisions without I/O: ``entry()`` after each caller entry says what next.

    Results: ``("option", Option)``, ``("repeat", None)``, ``("retry", "no_input" |
    "invalid")``, ``("fail", None)``; :meth:`more_digits` says whether to wait for
    another key of a multi-digit option.
    """

    spec: Menu
    failures: int = 0
    entered: str = ""
    history: list[str] = field(default_factory=list)

    @property
    def escape_digits(self) -> str:
        keys = {d[0] for d in self.spec.options}
        if self.spec.repeat:
            keys.add(self.spec.repeat)
        return "".join(sorted(keys)) if self.spec.barge_in else ""

    def more_digits(self) -> bool:
        """Whether ``entered`` is the start of a longer option (wait for another key)."""
        if not self.entered or self.entered == self.spec.repeat:
            return False
        return any(
            len(d) > len(self.entered) and d.startswith(self.entered) for d in self.spec.options
        )

    def key(self, digit: str | None) -> bool:
        """Add one key of the entry; return False when the entry is complete."""
        if digit is TIMEOUT or digit == self.spec.terminator:
            return False
        self.entered += digit
        return self.more_digits() and self.entered not in self.spec.options

    def entry(self) -> tuple[str, Option | str | None]:
        entered, self.entered = self.entered, ""
        self.history.append(entered)
        if entered and entered == self.spec.repeat:
            return "repeat", None
        option = self.spec.options.get(entered)
        if option is not None:
            return "option", option
        self.failures += 1
        if self.failures > self.spec.retries:
            return "fail", None
        return "retry", "no_input" if not entered else "invalid"


@runs("menu")
async def run(call: Call, block: Block) -> Outcome:
    spec: Menu = block.spec
    state = MenuState(spec)
    replay = True
    while True:
        digit = None
        if replay:
            digit = await play(call, spec.prompt, state.escape_digits)
        if digit is None:
            digit = await call.channel.wait_for_digit(round(spec.timeout * 1000))
        while state.key(digit):
            digit = await call.channel.wait_for_digit(round(spec.inter_digit * 1000))
        what, detail = state.entry()
        call.note("menu", entered=state.history[-1], outcome=what)
        replay = True
        if what == "option":
            assert isinstance(detail, Option)
            call.digits.append({"block": block.name, "digits": detail.digits})
            if detail.actions:
                await run_actions(call, detail.actions, f"{block.name}.{detail.digits}")
            if detail.goto:
                return Next(detail.goto)
        elif what == "retry":
            message = spec.no_input if detail == "no_input" else spec.invalid
            if message is not None:
                await play(call, message)
        elif what == "fail":
            if spec.on_fail:
                return Next(spec.on_fail)
            raise NoValidInput(f"menu {block.name}: no valid choice after {spec.retries + 1} tries")
