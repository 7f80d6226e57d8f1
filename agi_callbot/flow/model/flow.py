"""One loaded flow file: its blocks, defaults and the variables every call has."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agi_callbot.flow.model.actions import Action
from agi_callbot.flow.model.blocks import Block, Subflow

#: variables the engine sets on every call (see the module doc): a query string,
#: ``variables:`` or a ``set`` cannot replace them, and lint knows them
BUILTIN_VARIABLES = frozenset(
    {"caller", "caller_name", "dnid", "uniqueid", "channel", "language", "flow"}
)


@dataclass(frozen=True)
class Flow:
    """One validated flow file. ``version`` is a content hash: the call pins this object."""

    name: str
    version: str
    path: Path
    language: str
    start: str
    blocks: Mapping[str, Block]
    voice: Mapping[str, Any] = field(default_factory=dict)
    region: str = "ES"  # from settings.defaults when the file says nothing
    timezone: str = "Europe/Madrid"
    on_hangup: tuple[Action, ...] = ()
    on_error: str | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    max_steps: int = 500
    description: str = ""
    #: whether the file says ``start:`` (without it, calls begin at the first block)
    start_given: bool = True

    def block(self, name: str) -> Block:
        return self.blocks[name]

    def subflows(self) -> tuple[str, ...]:
        """Names of the flows this one calls, in block order, without repeats."""
        names = [b.spec.flow for b in self.blocks.values() if isinstance(b.spec, Subflow)]
        return tuple(dict.fromkeys(names))
