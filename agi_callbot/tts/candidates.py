"""Ways to produce one prompt — a recording, an engine's voice, silence — each with its key.

The key is the content hash of everything the audio depends on (``cache.prompt_key``):
an engine's name, its options (voice, rate, model…) and the text it is given — the
cleaned text, or the SSML body for the engines that take SSML — plus the pipeline
version; a recording's key follows its file (name, size, modification time).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agi_callbot.tts.audio import (
    CONVERT_ONLY,
    FULL,
    PIPELINE_VERSION,
    SourceAudio,
    Treatment,
    concatenate,
    load_upload,
    silence_wav,
)
from agi_callbot.tts.cache import prompt_key
from agi_callbot.tts.engines import Engine
from agi_callbot.tts.ssml import split_ssml, ssml_body
from agi_callbot.tts.text import clean_text, is_speakable, split_sentences


@dataclass(frozen=True)
class Candidate:
    """One way to produce a prompt: a recording, an engine with its options, or silence."""

    engine: str
    key: str
    meta: dict[str, Any]
    source: Callable[[], Awaitable[SourceAudio]]
    treatment: Treatment = FULL


#: the prompt service's logger: a candidate that failed is its warning
log = logging.getLogger("agi_callbot.tts.service")

#: a prompt that failed is not retried for this long (an engine may ask for longer)
RETRY_AFTER_S = 10.0


class Pauses:
    """Candidates not to try now: a prompt that failed recently (for ``RETRY_AFTER_S``,
    or longer if its engine asks), or any prompt of an engine that is cooling down
    (its circuit breaker open). A caller never waits on a candidate paused here."""

    def __init__(self, engines: Mapping[str, Engine]) -> None:
        self.engines = engines
        #: prompt key -> ``time.monotonic()`` before which it is not tried again
        self.retry_at: dict[str, float] = {}

    def paused(self, candidate: Candidate) -> bool:
        """Failed recently (this prompt), or its engine is down (every prompt)."""
        engine = self.engines.get(candidate.engine)
        if engine is not None and engine.cooling():
            return True
        return self.retry_at.get(candidate.key, 0.0) > time.monotonic()

    def reason(self, candidate: Candidate) -> str:
        engine = self.engines.get(candidate.engine)
        breaker = getattr(engine, "breaker", None)
        if breaker is not None and engine is not None and engine.cooling():
            return f"circuit breaker open for {breaker.seconds_left():.0f} s ({breaker.reason})"
        return "failed recently; not retried yet"

    def hold_off(self, candidate: Candidate) -> None:
        """Being tried in the background: no second try of it for ``RETRY_AFTER_S``."""
        self.retry_at[candidate.key] = time.monotonic() + RETRY_AFTER_S

    def failed(self, candidate: Candidate, exc: BaseException) -> None:
        engine = self.engines.get(candidate.engine)
        pause = max(RETRY_AFTER_S, engine.retry_pause(exc) if engine else 0.0)
        self.retry_at[candidate.key] = time.monotonic() + pause
        if engine is not None and engine.failure_cooldown:
            engine.cool_down()
        log.warning("prompt not produced by %s: %s", candidate.engine, exc)


#: prompts whose candidates are kept worked out (a few flows × their prompts × languages)
MEMO_SIZE = 4096


class Speakers:
    """The engine chain's candidates for a text, worked out once per prompt of a flow.

    They depend only on the arguments and the settings (cleaning the text, each
    engine's options, a SHA-256 of canonical JSON): a warm call reuses them and pays
    one ``stat`` per candidate. Recordings are looked up by the service each time, so
    one an admin drops in wins at once.
    """

    def __init__(self, engines: Mapping[str, Engine], chain: tuple[str, ...]) -> None:
        self.engines = engines
        self.default_chain = chain
        self._memo: dict[tuple[Any, ...], tuple[Candidate, ...]] = {}

    def chain(self, voice: Mapping[str, Any]) -> list[str]:
        """The flow's engine first, then the settings' chain; ``files``: recordings only."""
        preferred = voice.get("engine")
        if preferred == "files":
            return []
        names = [str(preferred)] if preferred else []
        return list(dict.fromkeys([*names, *self.default_chain]))

    def candidates(
        self,
        text: str | None,
        prompt_id: str | None,
        language: str,
        voice: Mapping[str, Any],
        silence: bool,
    ) -> tuple[Candidate, ...]:
        """Each engine of the chain that speaks the language (or silence for no text)."""
        try:
            memo_key: tuple[Any, ...] | None = (
                text, prompt_id, language, tuple(sorted(voice.items())), silence
            )  # fmt: skip
            hash(memo_key)
        except TypeError:  # a voice option that is a list or a mapping: not memoized
            memo_key = None
        if memo_key is not None:
            found = self._memo.get(memo_key)
            if found is not None:
                return found
        spoken = clean_text(text)
        if not is_speakable(spoken):
            made: tuple[Candidate, ...] = (silence_candidate(),) if silence else ()
        else:
            made = tuple(self._voices(text, spoken, language, voice, prompt_id))
        if memo_key is not None:
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()  # prompts of replaced flow versions go with the rest
            self._memo[memo_key] = made
        return made

    def _voices(
        self,
        text: str | None,
        spoken: str,
        language: str,
        voice: Mapping[str, Any],
        prompt_id: str | None,
    ) -> Iterator[Candidate]:
        for name in self.chain(voice):
            engine = self.engines.get(name)
            options = engine.options(language, voice) if engine is not None else None
            if engine is None or options is None:
                continue
            said = ssml_body(text) if engine.takes_ssml(options) else spoken
            yield spoken_candidate(engine, name, said, options, language, prompt_id)


def spoken_candidate(
    engine: Engine,
    name: str,
    text: str,
    options: Mapping[str, Any],
    language: str,
    prompt_id: str | None,
) -> Candidate:
    """An engine speaking ``text`` (cleaned, or an SSML body when the engine takes it)."""
    meta: dict[str, Any] = {"engine": name, "options": dict(options), "text": text}
    key = prompt_key({**meta, "pipeline": PIPELINE_VERSION})
    meta.update(language=language, prompt_id=prompt_id)
    ssml = engine.takes_ssml(options)
    return Candidate(name, key, meta, _speaker(engine, text, options, ssml=ssml))


def recording_candidate(path: Path, language: str, prompt_id: str | None) -> Candidate:
    stat = path.stat()
    relative = f"{path.parent.name}/{path.name}"
    parts = {"engine": "recording", "file": relative, "size": stat.st_size}
    key = prompt_key({**parts, "mtime_ns": stat.st_mtime_ns, "pipeline": PIPELINE_VERSION})
    meta = {**parts, "language": language, "prompt_id": prompt_id, "text": ""}

    async def source() -> SourceAudio:
        return await asyncio.to_thread(load_upload, path)

    return Candidate("recording", key, meta, source)


def silence_candidate() -> Candidate:
    key = prompt_key({"engine": "silence", "pipeline": PIPELINE_VERSION})

    async def source() -> SourceAudio:
        return silence_wav()

    meta = {"engine": "silence", "text": ""}
    return Candidate("silence", key, meta, source, treatment=CONVERT_ONLY)


def _speaker(
    engine: Engine, text: str, options: Mapping[str, Any], *, ssml: bool = False
) -> Callable[[], Awaitable[SourceAudio]]:
    """The source of a synthesised prompt: long text is spoken sentence by sentence."""

    async def speak() -> SourceAudio:
        split = split_ssml if ssml else split_sentences
        chunks = split(text, engine.max_chars)
        parts = [await engine.synthesize(chunk, options) for chunk in chunks]
        if len(parts) == 1:
            return parts[0]
        return await asyncio.to_thread(concatenate, parts)

    return speak
