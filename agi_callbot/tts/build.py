"""Pre-rendering, listing and pruning the prompts of the flows (``agi-callbot prompts …``).

``build`` renders every static text of the flows, in every language they use and every
format kept, so no caller waits for a render; with ``--output`` it also copies the files
for the ``deployed`` delivery (Asterisk's sounds folder). A prompt that
cannot be produced — no engine speaks its language, an admin's recording is corrupt —
is a failure: the command exits non-zero so a deploy stops there.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from agi_callbot.errors import PromptError
from agi_callbot.tts.cache import CacheEntry
from agi_callbot.tts.service import PromptService


class FlowPrompt(Protocol):
    """A text a flow plays, as :mod:`agi_callbot.flow.prompts` lists them."""

    flow: str
    prompt_id: str
    text: str
    language: str
    voice: Mapping[str, Any]
    dynamic: bool

    @property
    def where(self) -> str: ...


@dataclass
class BuildSummary:
    total: int = 0
    hits: int = 0
    misses: int = 0
    failures: int = 0
    dynamic: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.hits + self.misses + self.failures + self.dynamic


def unique_prompts(prompts: Iterable[FlowPrompt]) -> list[FlowPrompt]:
    """One entry per distinct rendering (the same text in two blocks is built once)."""
    seen: dict[tuple[str, str, str, str], FlowPrompt] = {}
    for prompt in prompts:
        voice = repr(sorted(prompt.voice.items()))
        seen.setdefault((prompt.text, prompt.language, prompt.prompt_id, voice), prompt)
    return list(seen.values())


async def build(
    service: PromptService,
    prompts: Sequence[FlowPrompt],
    formats: Sequence[str],
    *,
    output: Path | None = None,
    progress: Callable[[BuildSummary], None] | None = None,
    concurrency: int = 4,
) -> BuildSummary:
    """Render every prompt in every format; copy them to ``output`` when given."""
    todo = unique_prompts(prompts)
    summary = BuildSummary(total=len(todo))
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
    slots = asyncio.Semaphore(concurrency)

    async def one(prompt: FlowPrompt) -> None:
        if prompt.dynamic:
            summary.dynamic += 1
            return
        async with slots:
            try:
                rendered = await service.render(
                    prompt.text,
                    prompt_id=prompt.prompt_id,
                    language=prompt.language,
                    voice=prompt.voice,
                    ext=formats[0],
                )
                for ext in formats[1:]:
                    if await service.derive(rendered.key, ext) is None:
                        raise PromptError(f"cannot convert to {ext}")
                if output is not None:
                    _copy(service, rendered.key, formats, output)
            except (PromptError, OSError) as exc:
                summary.failures += 1
                summary.errors.append(f"{prompt.where}: {exc}")
                return
        for engine, reason in rendered.problems:
            line = f"{prompt.where}: {engine}: {reason}"
            (summary.errors if engine == "recording" else summary.warnings).append(line)
        if any(engine == "recording" for engine, _ in rendered.problems):
            summary.failures += 1
        elif rendered.hit:
            summary.hits += 1
        else:
            summary.misses += 1

    async def tracked(prompt: FlowPrompt) -> None:
        await one(prompt)
        if progress is not None:
            progress(summary)

    if progress is not None:
        progress(summary)
    await asyncio.gather(*(tracked(p) for p in todo))
    await service.aclose()
    return summary


def _copy(service: PromptService, key: str, formats: Sequence[str], output: Path) -> None:
    for ext in formats:
        target = output / f"{key}.{ext}"
        if not target.exists():
            temp = output / f".tmp-{key}.{ext}.{os.getpid()}"
            with service.cache.open(key, ext) as source, temp.open("wb") as copy:
                shutil.copyfileobj(source, copy)
            os.replace(temp, target)


def flows_by_key(service: PromptService, prompts: Iterable[FlowPrompt]) -> dict[str, set[str]]:
    """Which flows use each cache key (every candidate: recording, engines, fallbacks)."""
    users: dict[str, set[str]] = {}
    for prompt in prompts:
        if prompt.dynamic:
            continue
        for key in service.candidate_keys(
            prompt.text, prompt.prompt_id, prompt.language, prompt.voice
        ):
            users.setdefault(key, set()).add(prompt.flow)
    return users


def stale_entries(
    entries: Iterable[CacheEntry], used: Iterable[str], older_than: float
) -> list[CacheEntry]:
    """Entries no flow uses and nobody rendered recently.

    Prompts with variables are rendered during calls and belong to no flow text; the
    age limit keeps the ones in use (they are re-rendered if pruned anyway).
    """
    keep = set(used)
    limit = time.time() - older_than
    return [e for e in entries if e.key not in keep and e.mtime < limit]
