"""The runtime of each block kind (one module per kind) and what they share.

``call`` is the per-call state, ``prompt`` plays texts, ``actions`` runs messages,
opt-ins and ``set``; importing this package registers every kind in
:data:`agi_callbot.flow.blocks.registry.RUNNERS`.
"""

from agi_callbot.flow.blocks import (  # noqa: F401 - imported to register their kinds
    branch,
    collect,
    goto,
    hangup,
    hours,
    menu,
    say,
    set,
    step,
    subflow,
    transfer,
)
from agi_callbot.flow.blocks.registry import RUNNERS, runner_for

__all__ = ["RUNNERS", "runner_for"]
