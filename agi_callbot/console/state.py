"""What every console route reaches: settings, the flow store, the guard, the workers."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from agi_callbot.config import Settings
from agi_callbot.console.auth import Guard
from agi_callbot.console.live import Feeds
from agi_callbot.console.picture import Pictures
from agi_callbot.console.store import Checked, FlowStore
from agi_callbot.console.workers import Workers

VERDICT_CACHE = 256

#: a flow's name in a route (``soporte``, ``ventas/es``) and the JSON routes of one flow
NAME = "{name:[A-Za-z0-9_/-]+}"
FLOW_API = f"/api/flows/{NAME}"


@dataclass
class Console:
    settings: Settings
    guard: Guard
    store: FlowStore
    #: the processes that check, edit, draw and try flows (:mod:`agi_callbot.console.work`)
    workers: Workers = None  # type: ignore[assignment]  # made from settings below
    pictures: Pictures = field(default_factory=Pictures)
    #: the node's services (prompts, outbox…) when the console runs inside ``serve``
    services: Any = None
    #: a prompt service of the console's own when it runs without the node's services
    own_prompts: Any = None
    #: live event streams of the operations pages (:mod:`agi_callbot.console.live`)
    feeds: Feeds = field(default_factory=Feeds)
    _verdicts: OrderedDict[tuple[str, str], dict[str, Any]] = field(default_factory=OrderedDict)

    def __post_init__(self) -> None:
        if self.workers is None:
            self.workers = Workers(self.settings)
        self.store.checker = self.check

    async def work(self, task: str, *args: Any, **kwargs: Any) -> Any:
        """Run a task of :mod:`agi_callbot.console.work` in a worker process."""
        return await self.workers.run(task, *args, **kwargs)

    async def check(self, name: str, text: str) -> Checked:
        """The verdict the store needs to publish ``text`` (problems at their fields)."""
        checked: Checked = await self.work("check", name, text)
        return checked

    async def verdict(self, name: str, text: str) -> dict[str, Any]:
        """Loader + lint on a draft, the field of each problem and the block names;
        remembered by content here too (a page load must not queue behind a Try it)."""
        key = (name, hashlib.sha256(text.encode()).hexdigest())
        found = self._verdicts.get(key)
        if found is None:
            found = await self.work("verdict", name, text)
            self._verdicts[key] = found
            while len(self._verdicts) > VERDICT_CACHE:
                self._verdicts.popitem(last=False)
        else:
            self._verdicts.move_to_end(key)
        return dict(found)


CONSOLE = web.AppKey("console", Console)
