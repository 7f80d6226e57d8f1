"""The blocks of a flow: one spec class per kind (``say``, ``menu``, ``transfer``…),
the :class:`Block` that carries it with ``next`` and ``actions``, and the edges between
blocks that graphs and lint follow."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any, ClassVar

from agi_callbot.flow.model.actions import Action, SetVars
from agi_callbot.flow.model.texts import Condition, Prompt


@dataclass(frozen=True)
class Edge:
    """An outgoing reference of a block: label for graphs/lint, target block name."""

    label: str
    target: str


class BlockSpec:
    """Base of block specs; ``kind`` is the YAML key, ``terminal`` = the call ends there."""

    kind: ClassVar[str]
    terminal: ClassVar[bool] = False
    #: whether the block's ``next`` key is meaningful
    takes_next: ClassVar[bool] = True

    def edges(self) -> tuple[Edge, ...]:
        return ()


@dataclass(frozen=True)
class Step(BlockSpec):
    """A block with no kind key: runs its actions, then ``next``."""

    kind: ClassVar[str] = "step"


@dataclass(frozen=True)
class Say(BlockSpec):
    kind: ClassVar[str] = "say"
    prompt: Prompt


@dataclass(frozen=True)
class Option:
    """A menu choice: go somewhere, run actions, or both (no ``goto``: replay the menu)."""

    digits: str
    goto: str | None = None
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True)
class Menu(BlockSpec):
    kind: ClassVar[str] = "menu"
    takes_next: ClassVar[bool] = False
    prompt: Prompt
    options: Mapping[str, Option]
    timeout: float = 5.0
    retries: int = 2
    no_input: Prompt | None = None
    invalid: Prompt | None = None
    on_fail: str | None = None
    barge_in: bool = True
    repeat: str | None = None
    terminator: str | None = "#"
    inter_digit: float = 2.0

    def edges(self) -> tuple[Edge, ...]:
        out = [Edge(d, o.goto) for d, o in self.options.items() if o.goto]
        if self.on_fail:
            out.append(Edge("on_fail", self.on_fail))
        return tuple(out)


@dataclass(frozen=True)
class Collect(BlockSpec):
    kind: ClassVar[str] = "collect"
    prompt: Prompt
    var: str = "digits"
    min_digits: int = 1
    max_digits: int = 20
    terminator: str | None = "#"
    pattern: str | None = None
    retries: int = 2
    timeout: float = 6.0
    no_input: Prompt | None = None
    invalid: Prompt | None = None
    on_fail: str | None = None

    def edges(self) -> tuple[Edge, ...]:
        return (Edge("on_fail", self.on_fail),) if self.on_fail else ()


#: QUEUESTATUS / DIALSTATUS / "NOBODY" (AMI) → transfer branch keys, first that is set wins
OUTCOME_BRANCHES: dict[str, tuple[str, ...]] = {
    "TIMEOUT": ("on_no_answer",),
    "NOANSWER": ("on_no_answer",),
    "BUSY": ("on_busy", "on_no_answer"),
    "CHANUNAVAIL": ("on_unavailable", "on_no_answer"),
    "CONGESTION": ("on_unavailable", "on_no_answer"),
    "NOBODY": ("on_nobody",),
    "JOINEMPTY": ("on_nobody", "on_no_answer"),
    "LEAVEEMPTY": ("on_nobody", "on_no_answer"),
    "JOINUNAVAIL": ("on_nobody", "on_no_answer"),
    "LEAVEUNAVAIL": ("on_nobody", "on_no_answer"),
    "FULL": ("on_nobody", "on_no_answer"),
    "CONTINUE": ("next",),
}


@dataclass(frozen=True)
class Transfer(BlockSpec):
    """To a team (``Queue``) or an agent (``Dial``); exactly one of ``team``/``agent``."""

    kind: ClassVar[str] = "transfer"
    team: str | None = None
    agent: str | None = None
    music: str | None = None
    announce: Prompt | None = None
    max_wait: float | None = None
    ring: float = 20.0
    check_available: bool = True
    on_nobody: str | None = None
    on_no_answer: str | None = None
    on_busy: str | None = None
    on_unavailable: str | None = None
    on_hangup: tuple[Action, ...] = ()

    def edges(self) -> tuple[Edge, ...]:
        keys = ("on_nobody", "on_no_answer", "on_busy", "on_unavailable")
        return tuple(Edge(k, getattr(self, k)) for k in keys if getattr(self, k))

    def branch_for(self, outcome: str, next_block: str | None = None) -> str | None:
        """The block to go to after an unanswered transfer (None: no branch for it)."""
        for key in OUTCOME_BRANCHES.get(outcome.upper(), ("on_no_answer",)):
            target = next_block if key == "next" else getattr(self, key)
            if target:
                return target
        return None


@dataclass(frozen=True)
class Hangup(BlockSpec):
    kind: ClassVar[str] = "hangup"
    terminal: ClassVar[bool] = True
    takes_next: ClassVar[bool] = False
    message: Prompt | None = None
    result: str | None = None


@dataclass(frozen=True)
class Return(BlockSpec):
    kind: ClassVar[str] = "return"
    terminal: ClassVar[bool] = True
    takes_next: ClassVar[bool] = False
    result: str | None = None


@dataclass(frozen=True)
class SetBlock(BlockSpec):
    kind: ClassVar[str] = "set"
    values: SetVars


@dataclass(frozen=True)
class Case:
    condition: Condition
    goto: str


@dataclass(frozen=True)
class Branch(BlockSpec):
    kind: ClassVar[str] = "branch"
    cases: tuple[Case, ...]
    default: str | None = None  # the `else` entry; None → the block's next

    def edges(self) -> tuple[Edge, ...]:
        out = [Edge(c.condition.source, c.goto) for c in self.cases]
        if self.default:
            out.append(Edge("else", self.default))
        return tuple(out)


#: one day's opening ranges, [start, end) in local wall-clock time; end may be 24:00 (None)
Ranges = tuple[tuple[time, time | None], ...]


@dataclass(frozen=True)
class Hours(BlockSpec):
    kind: ClassVar[str] = "hours"
    takes_next: ClassVar[bool] = False
    timezone: str
    week: tuple[Ranges, ...]  # 7 entries, Monday first
    open: str
    closed: str
    holiday: str | None = None  # None → closed
    holidays: frozenset[date] = frozenset()
    yearly: frozenset[tuple[int, int]] = frozenset()  # (month, day) every year

    def edges(self) -> tuple[Edge, ...]:
        out = [Edge("open", self.open), Edge("closed", self.closed)]
        if self.holiday:
            out.append(Edge("holiday", self.holiday))
        return tuple(out)


@dataclass(frozen=True)
class Goto(BlockSpec):
    kind: ClassVar[str] = "goto"
    takes_next: ClassVar[bool] = False
    target: str

    def edges(self) -> tuple[Edge, ...]:
        return (Edge("goto", self.target),)


@dataclass(frozen=True)
class Subflow(BlockSpec):
    """Run flow ``flow`` (checked in the library at load); back at the block's ``next``."""

    kind: ClassVar[str] = "subflow"
    flow: str
    vars: Mapping[str, Any] = field(default_factory=dict)  # like `set` values


BLOCK_KINDS: dict[str, type[BlockSpec]] = {
    cls.kind: cls
    for cls in (
        Say,
        Menu,
        Collect,
        Transfer,
        Hangup,
        Return,
        SetBlock,
        Branch,
        Hours,
        Goto,
        Subflow,
    )
}
#: YAML keys that select a kind without being its class's kind name
KIND_ALIASES: dict[str, str] = {"play": "say"}


@dataclass(frozen=True)
class Block:
    name: str
    kind: str
    spec: BlockSpec
    next: str | None = None
    actions: tuple[Action, ...] = ()
    voice: Mapping[str, Any] | None = None
    description: str = ""
    line: int = 0
    column: int = 0

    def edges(self) -> tuple[Edge, ...]:
        """Every block this one can lead to, ``next`` last."""
        out = self.spec.edges()
        return (*out, Edge("next", self.next)) if self.next else out
