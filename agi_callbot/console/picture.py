"""The flow picture for the designer: the graph module's DOT drawn as SVG by Graphviz.

The SVG keeps Graphviz's ``<g class="node"><title>block</title>…`` groups: the page
finds a block's box by its title to make it clickable, mark lint findings and show
where a Try it call is. Pictures are cached by flow version (a content hash); the
drawing itself (DOT) is made in the console's worker process.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections import OrderedDict

from agi_callbot.errors import CallbotError

CACHE_SIZE = 64
DOT_TIMEOUT_S = 10.0
_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)


class Pictures:
    def __init__(self) -> None:
        self._cache: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._dot = shutil.which("dot")

    def cached(self, name: str, version: str) -> str | None:
        key = (name, version)
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
        return found

    async def svg(self, name: str, version: str, drawing: str) -> str:
        """``drawing`` (the flow in Graphviz's language, from the graph module) as SVG."""
        key = (name, version)
        if self._dot is None:
            raise CallbotError("Graphviz 'dot' is not installed (apt-get install graphviz)")
        process = await asyncio.create_subprocess_exec(
            self._dot,
            "-Tsvg",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(
                process.communicate(drawing.encode()),
                DOT_TIMEOUT_S,
            )
        except TimeoutError:
            process.kill()
            await process.wait()
            raise CallbotError("Graphviz took too long to draw the flow") from None
        if process.returncode != 0:
            raise CallbotError(f"dot failed: {err.decode(errors='replace').strip()}")
        svg = _PROLOGUE.sub("", out.decode("utf-8", errors="replace"), count=1)
        self._cache[key] = svg
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return svg
