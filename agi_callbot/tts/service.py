"""The prompt service a flow uses: text (or a prompt id) → what STREAM FILE receives.

For each prompt the service lists its candidates in order of preference — the admin's
recording for the prompt id, then each engine of the chain that speaks the language —
each with its own content key. A warm lookup takes the first candidate already on
disk (a better engine that failed earlier is retried in the background, never while
a caller waits). A cold one renders the first candidate that works: the engine speaks,
ONE sox run writes the delivered format, the cache renames it into place; the other
formats follow in the background (local delivery) or on first HTTP request.

Delivery (``settings.prompts.delivery``): ``local`` gives Asterisk the
absolute path without extension; ``http`` a long content-addressed URL naming one
format; ``deployed`` a name under Asterisk's sounds folder (``callbot/<key>``), the
files having been copied there from ``prompts build --output``.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections import Counter
from collections.abc import Awaitable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agi_callbot import metrics
from agi_callbot.config import Settings
from agi_callbot.errors import ConfigError, PromptError
from agi_callbot.tts.audio import (
    CONVERT_ONLY,
    FORMATS,
    QUALITY_ORDER,
    SourceAudio,
    convert,
)
from agi_callbot.tts.cache import PromptCache, is_key
from agi_callbot.tts.candidates import Candidate, Pauses, Speakers, recording_candidate
from agi_callbot.tts.engines import Engine, Recordings, build_engines

log = logging.getLogger(__name__)

DELIVERIES = ("local", "http", "deployed")


@dataclass(frozen=True)
class Rendered:
    """Outcome of producing a prompt, for ``prompts build`` and the benchmarks."""

    key: str
    engine: str
    hit: bool
    #: ``(engine, reason)`` of candidates that failed before this one worked
    problems: tuple[tuple[str, str], ...] = ()
    #: seconds of audio, when the lookup that found it measured it (a cache hit)
    length: float | None = None


def audio_seconds(ext: str, size: int) -> float:
    """Seconds of audio in a cached file of ``size`` bytes (every cached format is PCM)."""
    fmt = FORMATS[ext]
    width = 1 if ext in ("ulaw", "alaw") else 2
    return max(size - fmt.header_bytes, 0) / (fmt.rate * width)


class PromptService:
    """Implements :class:`agi_callbot.services.PromptService` over the prompt cache."""

    def __init__(self, settings: Settings, *, engines: Mapping[str, Engine] | None = None) -> None:
        self.settings = settings
        prompts = settings.prompts
        #: absolute: in local delivery the path goes to Asterisk, whose cwd is not ours
        self.cache = PromptCache(settings.prompts_dir.absolute())
        self.engines = dict(engines) if engines is not None else build_engines(settings.tts)
        self.recordings = Recordings(settings.tts.recordings_dir)
        self.delivery = prompts.delivery
        self.formats = tuple(dict.fromkeys(prompts.formats))
        self.primary = prompts.http_format if self.delivery == "http" else self.formats[0]
        self.stats: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[Any]] = set()
        #: background conversions take one worker at a time: callers' renders go first
        self._background = asyncio.Semaphore(1)
        self._warned: set[str] = set()
        self.speakers = Speakers(self.engines, settings.tts.engines)
        self.pauses = Pauses(self.engines)

    @classmethod
    def from_settings(cls, settings: Settings) -> PromptService:
        """Build and check at start-up: a bad setting or a read-only cache fails here."""
        service = cls(settings)
        service.check()
        return service

    def check(self) -> None:
        if self.delivery not in DELIVERIES:
            raise ConfigError(f"prompts.delivery: {self.delivery!r} is not one of {DELIVERIES}")
        for ext in (*self.formats, self.settings.prompts.http_format):
            if ext not in FORMATS:
                raise ConfigError(f"prompts: unknown format {ext!r} (known: {', '.join(FORMATS)})")
        if not self.formats:
            raise ConfigError("prompts.formats: at least one format is needed")
        for program in ("sox", *(n for n in self.settings.tts.engines if n == "espeak-ng")):
            if shutil.which(program) is None:
                raise ConfigError(f"{program} is not installed (tts needs it): not on PATH")
        self.cache.check_writable()
        for name in self.settings.tts.engines:
            self.engines[name].warm_up()

    # -- the flow's side ---------------------------------------------------------------

    async def resolve(
        self,
        text: str | None,
        *,
        prompt_id: str | None = None,
        language: str | None = None,
        voice: Mapping[str, Any] | None = None,
    ) -> str:
        """What STREAM FILE receives for this prompt (see the module docstring)."""
        file, _ = await self.resolve_measured(
            text, prompt_id=prompt_id, language=language, voice=voice
        )
        return file

    async def resolve_measured(
        self,
        text: str | None,
        *,
        prompt_id: str | None = None,
        language: str | None = None,
        voice: Mapping[str, Any] | None = None,
    ) -> tuple[str, float | None]:
        """:meth:`resolve` and the prompt's :meth:`length`, a warm prompt's from the same
        ``lstat`` that found it in the cache (a play pays one lookup, not two)."""
        language = language or self.settings.defaults.language
        voice = voice or {}
        if self.delivery == "deployed":
            file = self.deliver(self._deployed_key(text, prompt_id, language, voice))
            return file, self.length(file)
        budget = self.settings.tts.live_budget
        rendered = await self.render(
            text, prompt_id=prompt_id, language=language, voice=voice, budget=budget
        )
        file = self.deliver(rendered.key)
        return file, rendered.length if rendered.length is not None else self.length(file)

    def deliver(self, key: str) -> str:
        if self.delivery == "http":
            return f"{self.settings.prompts.base_url.rstrip('/')}/{key}.{self.primary}"
        if self.delivery == "deployed":
            return f"{self.settings.prompts.deployed_prefix.strip('/')}/{key}"
        return self.cache.stem_text(key)

    def length(self, file: str) -> float | None:
        """Seconds of audio in a prompt :meth:`deliver` named (``None``: not one of ours,
        or not in the cache here). A call's deadline for playing it follows from this."""
        key = file.rstrip("/").rsplit("/", 1)[-1].split(".", 1)[0]
        if not is_key(key):
            return None
        for ext in QUALITY_ORDER:
            size = self.cache.size(key, ext)
            if size:
                return audio_seconds(ext, size)
        return None

    async def render(
        self,
        text: str | None,
        *,
        prompt_id: str | None = None,
        language: str,
        voice: Mapping[str, Any],
        ext: str | None = None,
        budget: float | None = None,
    ) -> Rendered:
        """Produce the prompt in ``ext`` (the delivered format): cached, or first that works.

        ``budget`` (a live call): how long to wait for an engine over the network; past
        it the next candidate speaks now, and the slow render goes on in the background
        into the cache, for the next caller. ``None`` (``prompts build``): wait.
        """
        ext = ext or self.primary
        candidates = list(self.candidates(text, prompt_id, language, voice))
        for index, candidate in enumerate(candidates):
            size = self.cache.size(candidate.key, ext)
            if size:
                self.stats["hits"] += 1
                metrics.prompt_cache_hits.inc()
                if index:
                    self._upgrade(candidates[:index], ext)
                return Rendered(candidate.key, candidate.engine, True, (), audio_seconds(ext, size))
        self.stats["misses"] += 1
        metrics.prompt_cache_misses.inc()
        problems: list[tuple[str, str]] = []
        loop = asyncio.get_running_loop()
        deadline = None if budget is None else loop.time() + budget
        late: list[tuple[Candidate, asyncio.Future[Path]]] = []
        ready = [c for c in candidates if not self.pauses.paused(c)]
        for candidate in candidates:
            if candidate not in ready:
                problems.append((candidate.engine, self.pauses.reason(candidate)))
                continue
            wait = None
            if deadline is not None and self._remote(candidate) and candidate is not ready[-1]:
                wait = max(0.0, deadline - loop.time())
                if wait == 0.0 and late:
                    problems.append((candidate.engine, "live budget spent: not tried"))
                    continue
            started = time.perf_counter()
            render = asyncio.ensure_future(self._produce(candidate, ext))
            try:
                await asyncio.wait_for(asyncio.shield(render), wait)
            except TimeoutError:
                late.append((candidate, render))
                self._spawn(self._finish_late(candidate, render))
                metrics.prompt_fallbacks_total.labels(candidate.engine).inc()
                log.info(
                    "prompt %s: %s is over the live budget (%g s): the next engine speaks "
                    "now, %s finishes in the background",
                    candidate.key[:12],
                    candidate.engine,
                    budget,
                    candidate.engine,
                )
                problems.append((candidate.engine, f"over the live budget ({budget:g} s)"))
                continue
            except (PromptError, OSError) as exc:
                self.pauses.failed(candidate, exc)
                problems.append((candidate.engine, str(exc)))
                continue
            metrics.prompt_render_seconds.observe(time.perf_counter() - started)
            return Rendered(candidate.key, candidate.engine, hit=False, problems=tuple(problems))
        for candidate, render in late:  # nothing else worked: better late than silent
            try:
                await asyncio.shield(render)
            except (PromptError, OSError):
                continue
            return Rendered(candidate.key, candidate.engine, hit=False, problems=tuple(problems))
        self.stats["failures"] += 1
        if not candidates:
            raise PromptError(f"no engine speaks {language!r} for prompt {text or prompt_id!r}")
        detail = "; ".join(f"{engine}: {reason}" for engine, reason in problems)
        raise PromptError(f"prompt {text or prompt_id!r} could not be produced ({detail})")

    async def derive(self, key: str, ext: str) -> Path | None:
        """The prompt in another format, converted from the best one on disk (or ``None``)."""
        if ext not in FORMATS:
            return None
        if self.cache.lookup(key, ext):
            return self.cache.path(key, ext)
        master = next((f for f in QUALITY_ORDER if f != ext and self.cache.lookup(key, f)), None)
        if master is None:
            return None

        async def render(temp: Path) -> None:
            # read here, without following links (sox would open whatever the name is)
            try:
                data = await asyncio.to_thread(self.cache.read, key, master)
            except FileNotFoundError as exc:
                raise PromptError(f"{key}.{master} is not a prompt file") from exc
            await convert(
                SourceAudio(data, FORMATS[master].input_args()),
                temp,
                FORMATS[ext],
                treatment=CONVERT_ONLY,
                timeout=self.settings.tts.render_timeout,
            )

        return await self.cache.produce(key, ext, render)

    def candidate_keys(
        self, text: str | None, prompt_id: str | None, language: str, voice: Mapping[str, Any]
    ) -> list[str]:
        """Every key this prompt may be stored under (``prompts list`` / ``prune``)."""
        return [c.key for c in self.candidates(text, prompt_id, language, voice)]

    async def aclose(self, timeout: float = 5.0) -> None:
        """Let background renders finish (bounded), so no temp file is left mid-write."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        for engine in self.engines.values():
            await engine.aclose()

    # -- candidates --------------------------------------------------------------------

    def candidates(
        self, text: str | None, prompt_id: str | None, language: str, voice: Mapping[str, Any]
    ) -> Iterator[Candidate]:
        """Ways to produce this prompt, best first: recording, then the engine chain."""
        recording = self.recordings.find(language, prompt_id)
        if recording is not None:
            yield recording_candidate(recording, language, prompt_id)
        yield from self.speakers.candidates(text, prompt_id, language, voice, recording is None)

    def chain(self, voice: Mapping[str, Any]) -> list[str]:
        """The flow's engine first, then the settings' chain; ``files`` means recordings only."""
        return self.speakers.chain(voice)

    # -- rendering ---------------------------------------------------------------------

    async def _produce(self, candidate: Candidate, ext: str) -> Path:
        async def render(temp: Path) -> None:
            source = await candidate.source()
            await convert(
                source,
                temp,
                FORMATS[ext],
                treatment=candidate.treatment,
                timeout=self.settings.tts.render_timeout,
            )
            self.stats["renders"] += 1
            meta = {**candidate.meta, "created": time.time()}
            await asyncio.to_thread(self.cache.write_meta, candidate.key, meta)

        def committed(_: Path) -> None:
            if self.delivery == "local":
                for other in self.formats:
                    if other != ext:
                        self._spawn(self._derive_later(candidate.key, other))

        return await self.cache.produce(candidate.key, ext, render, committed)

    def _remote(self, candidate: Candidate) -> bool:
        engine = self.engines.get(candidate.engine)
        return engine is not None and engine.remote

    async def _finish_late(self, candidate: Candidate, render: asyncio.Future[Path]) -> None:
        """A render the caller did not wait for: into the cache, or its failure noted."""
        try:
            await render
        except (PromptError, OSError) as exc:
            self.pauses.failed(candidate, exc)
        else:
            log.info(
                "prompt %s by %s is in the cache for the next call",
                candidate.key[:12],
                candidate.engine,
            )

    def _upgrade(self, better: list[Candidate], ext: str) -> None:
        """A worse candidate was on disk: try the better ones in the background."""
        for candidate in better:
            if self.pauses.paused(candidate):
                continue
            self.pauses.hold_off(candidate)
            self._spawn(self._try_upgrade(candidate, ext))
            return

    async def _derive_later(self, key: str, ext: str) -> None:
        async with self._background:
            await self.derive(key, ext)

    async def _try_upgrade(self, candidate: Candidate, ext: str) -> None:
        try:
            await self._produce(candidate, ext)
        except (PromptError, OSError) as exc:
            self.pauses.failed(candidate, exc)

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._reap)

    def _reap(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("background prompt render failed: %s", task.exception())

    def _deployed_key(
        self, text: str | None, prompt_id: str | None, language: str, voice: Mapping[str, Any]
    ) -> str:
        candidates = list(self.candidates(text, prompt_id, language, voice))
        if not candidates:
            raise PromptError(f"no engine speaks {language!r} for prompt {text or prompt_id!r}")
        for candidate in candidates:
            if any(self.cache.lookup(candidate.key, ext) for ext in self.formats):
                return candidate.key
        key = candidates[0].key
        if key not in self._warned:
            self._warned.add(key)
            log.warning("prompt %s (%r) was not built: run `prompts build`", key, text)
        return key
