"""Text-to-speech engines behind one interface, and an admin's recordings that beat them.

A registry, not an if-chain: an engine is a class with a ``name`` registered here;
settings (``tts.engines``) and a flow's ``voice: {engine: …}`` name them, and the
prompt service walks that chain, taking the next engine when one cannot speak the
language or fails. An engine only turns text into audio bytes; the pipeline
(``audio.py``) and the cache (``cache.py``) make a file of it, so a failing engine can
never leave a partial file behind.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from agi_callbot.config import Tts
from agi_callbot.errors import ConfigError, PromptError
from agi_callbot.tts.audio import SourceAudio, run_process


class EngineError(PromptError):
    """This engine could not speak this text now: the service tries the next one."""


class Engine(ABC):
    """Turns text into audio. ``options()`` says what the audio depends on (the cache key)."""

    name: ClassVar[str]
    #: longest chunk handed to ``synthesize`` at once (``text.split_sentences``)
    max_chars: ClassVar[int] = 500
    #: after a failure, skip the engine for every prompt this long (an outage, not a text)
    failure_cooldown: ClassVar[float] = 0.0
    #: over the network: a live call waits for it only ``tts.live_budget``
    remote: ClassVar[bool] = False

    def __init__(self, settings: Tts) -> None:
        self.settings = settings
        self._cooling_until = 0.0

    def warm_up(self) -> None:  # noqa: B027 - most engines have nothing to load
        """Load, at start-up, what the first caller would otherwise wait for."""

    def retry_pause(self, exc: BaseException) -> float:
        """How long a prompt that failed here waits before this engine is asked again."""
        return self.failure_cooldown

    def cool_down(self) -> None:
        self._cooling_until = time.monotonic() + self.failure_cooldown

    def cooling(self) -> bool:
        return time.monotonic() < self._cooling_until

    def takes_ssml(self, options: Mapping[str, Any]) -> bool:
        """Whether ``synthesize`` receives an SSML body (:mod:`~agi_callbot.tts.ssml`)."""
        return False

    async def aclose(self) -> None:  # noqa: B027 - engines without connections
        """Release connections (providers keep a pool)."""

    @abstractmethod
    def options(self, language: str, voice: Mapping[str, Any]) -> dict[str, Any] | None:
        """The engine's choices for this language/voice, or ``None``: language not spoken."""

    @abstractmethod
    async def synthesize(self, text: str, options: Mapping[str, Any]) -> SourceAudio:
        """Speak one chunk; raise :class:`EngineError` on any failure."""


ENGINES: dict[str, type[Engine]] = {}


def register(cls: type[Engine]) -> type[Engine]:
    ENGINES[cls.name] = cls
    return cls


def build_engines(settings: Tts, names: tuple[str, ...] | None = None) -> dict[str, Engine]:
    """Instantiate the built-in engines and the providers; a bad name fails start-up."""
    from agi_callbot.tts.neural import KIND_ENGINES
    from agi_callbot.tts.provider_conf import ProviderSettings

    wanted = names if names is not None else tuple(ENGINES)
    engines: dict[str, Engine] = {name: ENGINES[name](settings) for name in wanted}
    for name, raw in settings.providers.items():
        if name in ENGINES or name == "files":
            raise ConfigError(f"tts.providers.{name}: the name of a built-in engine; pick another")
        provider = ProviderSettings.parse(name, raw)
        engines[name] = KIND_ENGINES[provider.kind](settings, provider)
    unknown = [n for n in settings.engines if n not in ENGINES and n not in settings.providers]
    if unknown:
        known = [*ENGINES, *settings.providers]
        raise ConfigError(
            f"tts.engines: unknown engine {unknown[0]!r} (known: {', '.join(known)}; "
            "a provider is declared under tts.providers)"
        )
    return engines


def language_tags(language: str) -> list[str]:
    """``es_ES`` → ``["es-es", "es"]``: the exact tag first, then the primary language."""
    tag = language.strip().lower().replace("_", "-")
    primary = tag.split("-", 1)[0]
    return [tag, primary] if primary != tag else [tag]


def same_language(a: str, b: str) -> bool:
    """``es-419`` and ``es_ES`` are both Spanish: a flow's voice fits either."""
    return language_tags(a)[-1] == language_tags(b)[-1]


@register
class EspeakEngine(Engine):
    """espeak-ng: offline, tiny, fast (≈10 ms a sentence); the embedded default."""

    name = "espeak-ng"
    max_chars = 500
    _languages: ClassVar[frozenset[str] | None] = None

    def options(self, language: str, voice: Mapping[str, Any]) -> dict[str, Any] | None:
        chosen = voice.get("voice") if voice.get("engine") in (None, self.name) else None
        if chosen is not None and not re.fullmatch(r"[A-Za-z0-9_+/-]+", str(chosen)):
            chosen = None  # not a voice name: never let it near the command line
        if chosen is not None and not same_language(str(chosen).split("+")[0], language):
            chosen = None  # an English text of a Spanish flow gets an English voice
        languages = self.languages()
        if chosen is None:
            chosen = next((tag for tag in language_tags(language) if tag in languages), None)
            if chosen is None:
                return None
        options: dict[str, Any] = {"voice": str(chosen)}
        for key, flag, low, high in (("rate", "speed", 80, 450), ("pitch", "pitch", 0, 99)):
            value = voice.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                options[flag] = min(max(int(value), low), high)
        return options

    def warm_up(self) -> None:
        self.languages()

    @classmethod
    def languages(cls) -> frozenset[str]:
        """Language tags of the installed voices (asked once; mbrola voices need mbrola)."""
        if cls._languages is None:
            try:
                listing = subprocess.run(
                    ["espeak-ng", "--voices"], capture_output=True, text=True, timeout=10
                ).stdout
            except (OSError, subprocess.TimeoutExpired):
                listing = ""
            tags: set[str] = set()
            for line in listing.splitlines()[1:]:
                fields = line.split()
                if len(fields) >= 5 and not fields[4].startswith("mb/"):
                    tags.add(fields[1].lower())
                    tags.update(m.lower() for m in re.findall(r"\(([\w-]+) \d+\)", line))
            cls._languages = frozenset(tags)
        return cls._languages

    async def synthesize(self, text: str, options: Mapping[str, Any]) -> SourceAudio:
        args = ["espeak-ng", "--stdout", "-b", "1", "-v", options["voice"]]
        if "speed" in options:
            args += ["-s", str(options["speed"])]
        if "pitch" in options:
            args += ["-p", str(options["pitch"])]
        # The text goes on stdin: as an argument, a text starting with "-" is an option.
        try:
            wav = await run_process(args, text.encode("utf-8"), self.settings.render_timeout)
        except PromptError as exc:
            raise EngineError(str(exc)) from exc
        if len(wav) <= 44:
            raise EngineError("espeak-ng produced no audio")
        return SourceAudio(wav, ("-t", "wav"))


@register
class GttsEngine(Engine):
    """Google Translate's TTS through gTTS: better voices, needs the internet.

    gTTS is blocking (requests), so it runs in a worker thread with a deadline; every
    failure (offline, HTTP 429, a timeout, a language Google dropped) is an
    :class:`EngineError` and the service moves on to the next engine.
    """

    name = "gtts"
    max_chars = 200
    remote = True
    failure_cooldown = 60.0

    def options(self, language: str, voice: Mapping[str, Any]) -> dict[str, Any] | None:
        from gtts.lang import tts_langs

        known = {code.lower(): code for code in tts_langs()}
        lang = voice.get("voice") if voice.get("engine") == self.name else None
        if lang and not same_language(str(lang), language):
            lang = None
        candidates = language_tags(str(lang)) if lang else language_tags(language)
        chosen = next((known[c] for c in candidates if c in known), None)
        if chosen is None:
            return None
        options: dict[str, Any] = {"lang": chosen}
        if voice.get("tld"):
            options["tld"] = str(voice["tld"])
        if voice.get("slow"):
            options["slow"] = True
        return options

    async def synthesize(self, text: str, options: Mapping[str, Any]) -> SourceAudio:
        timeout = float(self.settings.gtts_timeout)
        try:
            mp3 = await asyncio.wait_for(
                asyncio.to_thread(self._fetch, text, dict(options), timeout), timeout
            )
        except TimeoutError as exc:
            raise EngineError(f"gtts did not answer within {timeout:g} s") from exc
        except Exception as exc:  # gTTSError, requests' errors, ValueError: all "next engine"
            raise EngineError(f"gtts failed: {exc}") from exc
        if not mp3:
            raise EngineError("gtts returned no audio")
        return SourceAudio(mp3, ("-t", "mp3"))

    @staticmethod
    def _fetch(text: str, options: dict[str, Any], timeout: float) -> bytes:
        from gtts import gTTS

        buffer = io.BytesIO()
        tts = gTTS(
            text,
            lang=options["lang"],
            tld=options.get("tld", "com"),
            slow=bool(options.get("slow")),
            lang_check=False,
            timeout=timeout,
        )
        tts.write_to_fp(buffer)
        return buffer.getvalue()


class Recordings:
    """An admin's own recordings: ``<recordings_dir>/<language>/<prompt_id>.<ext>``.

    Looked up on every prompt, so a listing of each language folder is kept and
    refreshed only when the folder's modification time changes (one ``stat`` a lookup).
    """

    _ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

    def __init__(self, root: Path, stat: Callable[[str], os.stat_result] = os.stat) -> None:
        self.root = root
        self._stat = stat
        self._listings: dict[str, tuple[int, dict[str, str]]] = {}

    def find(self, language: str, prompt_id: str | None) -> Path | None:
        """The recording for this prompt in this language (exact tag, then primary)."""
        if not prompt_id or not self._ID.fullmatch(prompt_id):
            return None
        for tag in dict.fromkeys([language, *language_tags(language)]):
            if not self._ID.fullmatch(tag):
                continue
            name = self._listing(tag).get(prompt_id)
            if name is not None:
                return self.root / tag / name
        return None

    def _listing(self, tag: str) -> dict[str, str]:
        folder = os.path.join(self.root, tag)
        try:
            mtime = self._stat(folder).st_mtime_ns
        except OSError:
            return {}
        cached = self._listings.get(tag)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        listing: dict[str, str] = {}
        for entry in sorted(os.listdir(folder)):
            stem, dot, _ = entry.rpartition(".")
            if dot and stem and not entry.startswith("."):
                listing.setdefault(stem, entry)
        self._listings[tag] = (mtime, listing)
        return listing
