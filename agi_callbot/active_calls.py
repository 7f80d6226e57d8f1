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

from agi_callbot.phone import show_number


class ActiveCalls:
    """:class:`agi_callbot.services.ActiveCallService` for one node."""

    def __init__(self) -> None:
        #: id(call) -> [the call's fixed fields (filled when first read), the call]
        self._calls: dict[int, list[Any]] = {}
        self._ids = itertools.count(1)
        #: set when a call started or ended (the console's live feed waits on it)
        self.changed = asyncio.Event()

    def started(self, call: Any) -> None:
        self._calls[id(call)] = [None, call, next(self._ids), time.time()]
        self.changed.set()

    def ended(self, call: Any) -> None:
        if self._calls.pop(id(call), None) is not None:
            self.changed.set()

    def __len__(self) -> int:
        return len(self._calls)

    def blocks(self) -> dict[int, str]:
        """``{id: block}`` of every call now: what a watcher compares between looks."""
        return {entry[2]: entry[1].block for entry in list(self._calls.values())}

    def snapshot(self, ids: set[int] | None = None) -> list[dict[str, Any]]:
        """Every call in progress (or those of ``ids``), oldest first."""
        out = []
        for entry in list(self._calls.values()):
            fixed, call, key, started = entry
            if ids is not None and key not in ids:
                continue
            if fixed is None:  # masked once, when first watched, never on the call's path
                fixed = entry[0] = {
                    "id": key,
                    "uniqueid": call.uniqueid,
                    "flow": call.flow.name,
                    "version": call.flow.version,
                    "caller": show_number(str(call.variables.get("caller", ""))),
                    "started": round(started, 3),
                }
            out.append({**fixed, "block": call.block})
        return out
