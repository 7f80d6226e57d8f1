"""From an incoming AGI session to a running flow: ``await router(channel)`` is one call.

``agi://host/<name>?query`` names the flow file ``<flows_dir>/<name>.yaml``. The
router refuses names that could leave the flows folder, takes the version the library
serves *now* — with every sub-flow it uses — and keeps those objects for the whole call,
so an edit on disk only reaches new calls. A call that cannot start (bad or unknown
flow, a flow that does not validate) leaves ``CALLBOT_STATUS=FAILED`` for the dialplan
to fail over on, with one log line.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from agi_callbot import log as calllog
from agi_callbot import metrics
from agi_callbot.config import Settings
from agi_callbot.errors import CallbotError, FlowError
from agi_callbot.flow.blocks.call import FAILED
from agi_callbot.flow.loader import FlowLibrary, check_name
from agi_callbot.flow.model import Flow
from agi_callbot.flow.runner import CallResult, run_call
from agi_callbot.services import Services

log = logging.getLogger("agi_callbot.router")

#: the metrics label of calls refused before a flow was known
REFUSED = "(refused)"


class Router:
    """The FastAGI / classic AGI handler: resolves the flow, pins it, runs the call."""

    def __init__(
        self, settings: Settings, services: Services, library: FlowLibrary | None = None
    ) -> None:
        self.settings = settings
        self.services = services
        self.library = library or FlowLibrary.from_settings(settings)

    async def __call__(self, channel: Any, *, flow: str | None = None) -> CallResult | None:
        """Run one call; ``flow`` names it for classic AGI (``agi-callbot agi FLOW``)."""
        name = flow if flow is not None else channel.env.script
        try:
            check_name(name)
            # the flows a call needs are nearly always loaded: pin them here, and only go
            # to a thread (files to read and validate) when one is not
            ready = pin_loaded(self.library, name)
            pinned, subflows = ready or await asyncio.to_thread(self.pin, name)
        except FlowError as exc:
            log.error("call refused: %s", exc)
            with metrics.track_call(REFUSED):  # counted FAILED; never the caller's text as label
                await self._refuse(channel)
            return None
        calllog.bind(flow=pinned.name, version=pinned.version)
        with metrics.track_call(pinned.name) as tracker:
            result = await run_call(
                channel, pinned, self.services, self.settings, subflows=subflows
            )
            tracker.outcome = result.status
        return result

    def pin(self, name: str) -> tuple[Flow, dict[str, Flow]]:
        return pin(self.library, name)

    async def _refuse(self, channel: Any) -> None:
        try:
            await channel.set_variable("CALLBOT_STATUS", FAILED)
            await channel.set_variable("CALLBOT_RESULT", "unknown flow")
        except CallbotError as exc:
            log.debug("could not set CALLBOT_STATUS on a refused call: %s", exc)


def pin(library: FlowLibrary, name: str) -> tuple[Flow, dict[str, Flow]]:
    """The current version of ``name`` and of every flow it reaches through sub-flows.

    Blocking (may read and validate files): call it from a thread in the event loop.
    """
    pinned = _pin(library.get, name)
    assert pinned is not None  # library.get raises FlowError instead of answering None
    return pinned


def pin_loaded(library: FlowLibrary, name: str) -> tuple[Flow, dict[str, Flow]] | None:
    """:func:`pin` from what is loaded already (no disk), or ``None`` if anything is not."""
    return _pin(library.loaded, name)


def _pin(get: Callable[[str], Flow | None], name: str) -> tuple[Flow, dict[str, Flow]] | None:
    flow = get(name)
    if flow is None:
        return None
    subflows: dict[str, Flow] = {}
    pending = list(flow.subflows())
    while pending:
        sub = pending.pop()
        if sub in subflows:
            continue
        found = flow if sub == name else get(sub)
        if found is None:
            return None
        subflows[sub] = found
        pending.extend(found.subflows())
    return flow, subflows
