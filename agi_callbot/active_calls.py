"""The calls in progress on this node, for whoever watches (the console's live list).

The flow runner says when a call starts and ends (two dictionary operations and a
flag: nothing a call waits on). Watchers read the calls in their own time: the
uniqueid, the flow and version, the block the call is in now, the caller (masked as
in the logs unless ``log.full_numbers``), when it started.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from agi_callbot.log import show_number


class ActiveCalls:
    """:class:`agi_callbot.services.ActiveCallService` for one node."""

    def __init__(self) -> None:
        self._calls: dict[int, tuple[int, float, Any]] = {}
        self._ids = itertools.count(1)
        #: set when a call started or ended (the console's live feed waits on it)
        self.changed = asyncio.Event()

    def started(self, call: Any) -> None:
        self._calls[id(call)] = (next(self._ids), time.time(), call)
        self.changed.set()

    def ended(self, call: Any) -> None:
        if self._calls.pop(id(call), None) is not None:
            self.changed.set()

    def __len__(self) -> int:
        return len(self._calls)

    def snapshot(self) -> list[dict[str, Any]]:
        """Every call in progress, oldest first."""
        out = []
        for key, started, call in list(self._calls.values()):
            out.append(
                {
                    "id": key,
                    "uniqueid": call.uniqueid,
                    "flow": call.flow.name,
                    "version": call.flow.version,
                    "block": call.block,
                    "caller": show_number(str(call.variables.get("caller", ""))),
                    "started": round(started, 3),
                }
            )
        return out
