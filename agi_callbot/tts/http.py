"""The prompt cache over HTTP, read-only, for Asterisk's ``res_http_media_cache``.

What a real Asterisk 22 does with a prompt URL (transcripts 34, 35, 40, 42) decides
every header here:

- without ``Cache-Control: max-age`` it downloads the prompt again on every play; with
  it, not at all until it expires. Our URLs are content hashes, so a URL never changes
  meaning: a year, ``immutable``.
- with an ``ETag`` and no max-age left it revalidates with ``HEAD`` + ``If-None-Match``:
  answered ``304`` here, for GET and HEAD alike.
- the format comes from the Content-Type when Asterisk knows it, before the URL's
  extension: ``.sln16`` must go out as ``application/octet-stream`` (ignored, so the
  extension decides), never ``audio/wav`` ("Does not begin with RIFF"); ``.wav`` is
  8 kHz ``audio/wav``; a 16 kHz wav is ``.wav16`` with the MIME type format_wav
  registers for it.

Formats other than the delivered one are converted on first request (from the best
format on disk) and kept; anyone who reaches the port could ask for every key in every
format, so such conversions are limited to ``CONVERSIONS_PER_MINUTE`` (then 503 with
``Retry-After``). The delivered format, what a call asked for, is always served.
The routes are mounted by the one HTTP listener (``web.py``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aiohttp import web

from agi_callbot.errors import PromptError
from agi_callbot.log_limit import Limiter
from agi_callbot.tts.audio import FORMATS

if TYPE_CHECKING:
    from agi_callbot.tts.service import PromptService

#: a year: the longest max-age caches honour; content-addressed URLs never go stale.
MAX_AGE_S = 365 * 24 * 3600
CACHE_CONTROL = f"public, max-age={MAX_AGE_S}, immutable"
#: conversions to a format other than the delivered one that requests may cause per
#: minute: anyone who can reach the port can ask for every key in every format
CONVERSIONS_PER_MINUTE = 30
refusals = Limiter(logging.getLogger("agi_callbot.tts"))
_NAME = re.compile(r"(?P<key>[0-9a-f]{64})\.(?P<ext>[a-z0-9]+)")


def routes(service: PromptService) -> list[web.RouteDef]:
    """GET (and HEAD) ``<base_url path>/<key>.<ext>`` for the HTTP listener to mount."""
    prefix = urlsplit(service.settings.prompts.base_url).path.rstrip("/") or "/prompts"

    conversions: deque[float] = deque()

    def may_convert() -> bool:
        """At most ``CONVERSIONS_PER_MINUTE`` conversions asked for from outside."""
        now = time.monotonic()
        while conversions and now - conversions[0] >= 60.0:
            conversions.popleft()
        if len(conversions) >= CONVERSIONS_PER_MINUTE:
            return False
        conversions.append(now)
        return True

    async def prompt(request: web.Request) -> web.StreamResponse:
        match = _NAME.fullmatch(request.match_info["name"])
        if match is None or match["ext"] not in FORMATS:
            raise web.HTTPNotFound(text="no such prompt\n")
        key, ext = match["key"], match["ext"]
        if (
            ext != service.primary
            and not service.cache.lookup(key, ext)
            and any(service.cache.lookup(key, f) for f in FORMATS)
            and not may_convert()
        ):
            refusals.warning(
                "conversions",
                "prompts: conversion refused (over %d a minute)",
                CONVERSIONS_PER_MINUTE,
            )
            raise web.HTTPServiceUnavailable(
                text="too many conversions; try again later\n", headers={"Retry-After": "60"}
            )
        try:
            path = await service.derive(key, ext)
        except PromptError as exc:
            raise web.HTTPInternalServerError(text=f"cannot convert prompt: {exc}\n") from exc
        if path is None:
            raise web.HTTPNotFound(text="no such prompt\n")
        etag = f'"{key}.{ext}"'
        headers = {
            "Cache-Control": CACHE_CONTROL,
            "ETag": etag,
            "Content-Type": FORMATS[ext].content_type,
        }
        if _matches(request.headers.get("If-None-Match", ""), etag):
            return web.Response(status=304, headers=headers)
        try:
            body = await asyncio.to_thread(service.cache.read, key, ext)
        except FileNotFoundError as exc:  # pruned (or swapped) between lookup and read
            raise web.HTTPNotFound(text="no such prompt\n") from exc
        return web.Response(body=body, headers=headers)

    return [web.get(prefix + "/{name}", prompt, allow_head=True)]


def _matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison: ``*``, a list, ``W/`` prefixes all count."""
    if not if_none_match:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return any(t == "*" or t.removeprefix("W/") == etag for t in tags)
