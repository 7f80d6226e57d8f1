"""Block kinds → the coroutine that runs them. One module per kind registers itself.

Adding a block kind is adding its spec to :mod:`agi_callbot.flow.model` and one
module here with ``@runs("kind")``; the runner never grows an if-chain.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from agi_callbot.flow.blocks.call import Call, Outcome

BlockRunner = Callable[[Call, Any], Awaitable[Outcome]]

RUNNERS: dict[str, BlockRunner] = {}


def runs(kind: str) -> Callable[[BlockRunner], BlockRunner]:
    """Register ``fn(call, block) -> Next | End`` as the runtime of block kind ``kind``."""

    def register(fn: BlockRunner) -> BlockRunner:
        if kind in RUNNERS:
            raise ValueError(f"block kind {kind!r} registered twice")
        RUNNERS[kind] = fn
        return fn

    return register


def runner_for(kind: str) -> BlockRunner:
    try:
        return RUNNERS[kind]
    except KeyError:
        raise LookupError(f"no runtime for block kind {kind!r}") from None
