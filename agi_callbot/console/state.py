"""What every console route reaches: settings, the flow store, the guard, caches."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from agi_callbot.config import Settings
from agi_callbot.console.auth import Guard
from agi_callbot.console.live import Feeds
from agi_callbot.console.picture import Pictures
from agi_callbot.console.store import Checked, FlowStore

CHECK_CACHE = 256


@dataclass
class Console:
    settings: Settings
    guard: Guard
    store: FlowStore
    pictures: Pictures = field(default_factory=Pictures)
    #: the node's services (prompts, outbox…) when the console runs inside ``serve``
    services: Any = None
    #: a prompt service of the console's own when it runs without the node's services
    own_prompts: Any = None
    #: live event streams of the operations pages (:mod:`agi_callbot.console.live`)
    feeds: Feeds = field(default_factory=Feeds)
    _checked: OrderedDict[tuple[str, str], Checked] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def checked(self, name: str, text: str) -> Checked:
        """Loader + lint verdict on ``text``, cached by content (drafts are re-checked as
        the admin types: the same text is not checked twice)."""
        key = (name, hashlib.sha256(text.encode()).hexdigest())
        with self._lock:  # called from worker threads
            found = self._checked.get(key)
            if found is not None:
                self._checked.move_to_end(key)
                return found
        found = self.store.check(name, text)
        with self._lock:
            self._checked[key] = found
            while len(self._checked) > CHECK_CACHE:
                self._checked.popitem(last=False)
        return found


CONSOLE = web.AppKey("console", Console)
