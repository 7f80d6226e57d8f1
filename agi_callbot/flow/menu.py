"""Menus and digit collection as pure state machines: keys in, what to do next out.

No I/O here: the runner plays what :class:`Play` lists, waits as :class:`Wait` says,
and feeds back each key pressed or :data:`TIMEOUT`. That keeps every retry, barge-in
and ``#``/``*`` rule testable as a table, and the same machine serves any transport.

A menu::

    machine = MenuMachine(spec)
    step = machine.start()                 # Play(prompts=(menu prompt,), …)
    step = machine.feed("1")               # Choose(option) | Wait | Play (retry) | Fail
    step = machine.feed(TIMEOUT)

- Barge-in: while :class:`Play` prompts play, the keys in ``escape`` interrupt them
  and count as input (no keys with ``barge_in: false``: presses during the prompt
  are lost, as Asterisk drops them).
- No key within ``timeout`` → the ``no_input`` prompt, then the menu again; a key that
  no option starts with → ``invalid``, then the menu again. After ``retries`` such
  failures: :class:`Fail` (the flow's ``on_fail``).
- Multi-digit options (``"10"``): after ``1`` the machine answers :class:`Wait` with
  the inter-digit timeout; the terminator (``#``) or that timeout ends the input.
- ``repeat`` (e.g. ``*``) replays the prompt without counting a failure (bounded).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from agi_callbot.flow.model import Collect, Menu, Option, Prompt

TIMEOUT: Final = "TIMEOUT"
#: every key a caller can press: all of them interrupt a prompt when barge-in is on
ALL_KEYS: Final = "0123456789*#"
#: how many times ``repeat`` replays a prompt before it counts as invalid
MAX_REPEATS: Final = 5


@dataclass(frozen=True)
class Play:
    """Play ``prompts`` in order (interruptible by ``escape``), then wait ``timeout``
    seconds for a key. ``reason``: why (None first time, no_input, invalid, repeat)."""

    prompts: tuple[Prompt, ...]
    escape: str
    timeout: float
    reason: str | None = None


@dataclass(frozen=True)
class Wait:
    """Wait up to ``timeout`` seconds for the next key (more digits may follow)."""

    timeout: float


@dataclass(frozen=True)
class Choose:
    option: Option
    attempts: int  # failures before this choice


@dataclass(frozen=True)
class Collected:
    value: str
    attempts: int


@dataclass(frozen=True)
class Fail:
    """Gave up after ``attempts`` failures; ``reason`` of the last one."""

    reason: str  # no_input | invalid
    attempts: int


MenuStep = Play | Wait | Choose | Fail
CollectStep = Play | Wait | Collected | Fail


class _Retrying:
    """What menus and collects share: counting failures and building the next prompt."""

    def __init__(
        self,
        prompt: Prompt,
        retries: int,
        timeout: float,
        no_input: Prompt | None,
        invalid: Prompt | None,
        escape: str,
    ) -> None:
        self._prompt = prompt
        self._retries = retries
        self._timeout = timeout
        self._no_input = no_input
        self._invalid = invalid
        self._escape = escape
        self.failures = 0
        self.buffer = ""
        self.done = False

    def _play(self, reason: str | None = None, notice: Prompt | None = None) -> Play:
        self.buffer = ""
        prompts = (notice, self._prompt) if notice else (self._prompt,)
        return Play(prompts, self._escape, self._timeout, reason)

    def _fail(self, reason: str) -> Play | Fail:
        self.failures += 1
        if self.failures > self._retries:
            self.done = True
            return Fail(reason, self.failures)
        notice = self._no_input if reason == "no_input" else self._invalid
        return self._play(reason, notice)

    def _check(self) -> None:
        if self.done:
            raise RuntimeError("the machine has finished; start a new one")


class MenuMachine(_Retrying):
    """One run of a ``menu`` block (a new machine each time the block is entered)."""

    def __init__(self, menu: Menu) -> None:
        super().__init__(
            menu.prompt,
            menu.retries,
            menu.timeout,
            menu.no_input,
            menu.invalid,
            ALL_KEYS if menu.barge_in else "",
        )
        self.menu = menu
        self.repeats = 0

    def start(self) -> Play:
        return self._play()

    def feed(self, key: str) -> MenuStep:
        """A key pressed (``"0"``…``"9"``, ``"*"``, ``"#"``) or :data:`TIMEOUT`."""
        self._check()
        menu = self.menu
        if key == TIMEOUT:
            return self._resolve() if self.buffer else self._fail("no_input")
        if key not in ALL_KEYS or len(key) != 1:
            raise ValueError(f"not a phone key: {key!r}")
        if not self.buffer and key == menu.repeat:
            self.repeats += 1
            if self.repeats > MAX_REPEATS:
                return self._fail("invalid")
            return self._play("repeat")
        if key == menu.terminator:
            return self._resolve() if self.buffer else self._fail("invalid")
        self.buffer += key
        longer = any(d != self.buffer and d.startswith(self.buffer) for d in menu.options)
        if longer:
            return Wait(menu.inter_digit)
        return self._resolve()

    def _resolve(self) -> MenuStep:
        option = self.menu.options.get(self.buffer)
        if option is None:
            return self._fail("invalid")
        self.done = True
        return Choose(option, self.failures)


class Collector(_Retrying):
    """One run of a ``collect`` block: digits into a variable, checked, with retries.

    Keys can be fed one by one (:meth:`feed`) or, when the runner used GET DATA, as
    the string it returned (:meth:`submit`).
    """

    def __init__(self, collect: Collect) -> None:
        super().__init__(
            collect.prompt,
            collect.retries,
            collect.timeout,
            collect.no_input,
            collect.invalid,
            ALL_KEYS,
        )
        self.collect = collect

    def start(self) -> Play:
        return self._play()

    def feed(self, key: str) -> CollectStep:
        self._check()
        if key == TIMEOUT:
            return self._finish() if self.buffer else self._fail("no_input")
        if key not in ALL_KEYS or len(key) != 1:
            raise ValueError(f"not a phone key: {key!r}")
        if key == self.collect.terminator:
            return self._finish()
        self.buffer += key
        if len(self.buffer) >= self.collect.max_digits:
            return self._finish()
        return Wait(self.collect.timeout)

    def submit(self, digits: str, timed_out: bool) -> CollectStep:
        """What GET DATA returned: the digits (terminator not included) and whether it
        stopped on its timeout rather than on the terminator or the maximum length."""
        step: CollectStep = Wait(self.collect.timeout)
        for key in digits:
            step = self.feed(key)
            if not isinstance(step, Wait):
                return step
        if timed_out and not self.buffer:
            return self._fail("no_input")
        return self._finish()

    def _finish(self) -> CollectStep:
        value, spec = self.buffer, self.collect
        too_short = len(value) < spec.min_digits
        if too_short or (spec.pattern is not None and not re.fullmatch(spec.pattern, value)):
            return self._fail("invalid")
        self.done = True
        return Collected(value, self.failures)
