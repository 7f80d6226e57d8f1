"""Neural text-to-speech providers: what they share, and their errors (settings: provider_conf).

An admin names each provider account once (``tts.providers.<name>``) and puts the name
in the chain (``tts.engines: [google, espeak-ng]``) or in a flow
(``voice: {engine: google, voice: es-ES-Neural2-A}``)::

    tts:
      engines: [google, espeak-ng]
      live_budget: 700ms
      providers:
        google: {kind: google, key_env: GOOGLE_TTS_KEY,
                 voices: {es: es-ES-Neural2-A, en: en-US-Neural2-F}, rate: 1.0}

Secrets stay in the environment (``key_env`` names the variable) and are read at each
request, so a rotated key needs no restart; they are never logged nor echoed in an
error. Every provider is one :class:`ProviderEngine` over httpx: a request deadline,
retries on 429 and 5xx (honouring ``Retry-After``), a :class:`CircuitBreaker`, and
each failure classified (auth, quota, rate, bad_request, server, timeout, network)
so ``doctor`` and the log can say what to fix.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from agi_callbot import metrics
from agi_callbot.config import Tts, secret
from agi_callbot.gateways.errors import retry_after
from agi_callbot.tts.audio import SourceAudio
from agi_callbot.tts.breaker import CircuitBreaker
from agi_callbot.tts.engines import Engine, EngineError, language_tags, same_language
from agi_callbot.tts.provider_conf import ProviderSettings

log = logging.getLogger(__name__)

#: outcomes that say the provider (not this text) is unwell: they count for the breaker
_UNWELL = frozenset({"auth", "quota", "rate", "server", "timeout", "network", "config"})
#: outcomes worth the same request again a moment later
_RETRIED = frozenset({"rate", "server", "timeout", "network"})
#: a provider asking to wait longer than this is not waited for: the breaker opens
MAX_RETRY_WAIT_S = 5.0
#: a prompt the provider refused (400) is not asked of it again for this long
BAD_REQUEST_PAUSE_S = 600.0


class ProviderError(EngineError):
    """A provider did not speak: ``outcome`` says why, in words an admin can act on."""

    def __init__(
        self,
        provider: str,
        outcome: str,
        detail: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.provider = provider
        self.outcome = outcome
        self.status = status
        self.retry_after = retry_after
        self.detail = detail
        http = f" (HTTP {status})" if status else ""
        wait = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        super().__init__(f"{provider}: {OUTCOMES[outcome]}{http}: {detail}{wait}")


OUTCOMES = {
    "auth": "authentication refused — check the key named by key_env and the region",
    "quota": "quota or billing limit reached",
    "rate": "rate limited",
    "bad_request": "request refused (voice, language or text)",
    "server": "provider error",
    "timeout": "no answer in time",
    "network": "cannot reach the provider",
    "config": "wrong base_url",
    "open": "circuit breaker open after recent failures",
}


class ProviderEngine(Engine):
    """A neural voice over HTTP. Subclasses build the request and read the answer."""

    kind: ClassVar[str]
    remote = True
    #: the voice name starts with its language tag (``es-ES-Neural2-A``)
    voice_has_language: ClassVar[bool] = False

    def __init__(self, settings: Tts, provider: ProviderSettings) -> None:
        super().__init__(settings)
        self.name = provider.name  # type: ignore[misc] - an instance's name: the admin's
        self.provider = provider
        self.breaker = CircuitBreaker(
            provider.name, failures=provider.breaker_failures, open_for=provider.breaker_open_for
        )
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- the engine interface ---------------------------------------------------------

    def warm_up(self) -> None:
        """Say at start-up what every prompt would otherwise fail on (the key's value: never)."""
        if self.needs_key() and secret(self.provider.key_env) is None:
            log.warning(
                "tts provider %s: environment variable %s is not set: its prompts go to the "
                "next engine of the chain",
                self.name,
                self.provider.key_env,
            )

    def cooling(self) -> bool:
        return self.breaker.is_open()

    def cool_down(self) -> None:
        """The breaker counts failures itself (it knows which ones are the provider's)."""

    def retry_pause(self, exc: BaseException) -> float:
        # a refused text or voice is refused again: not re-asked every few seconds
        bad = isinstance(exc, ProviderError) and exc.outcome == "bad_request"
        return BAD_REQUEST_PAUSE_S if bad else 0.0

    def options(self, language: str, voice: Mapping[str, Any]) -> dict[str, Any] | None:
        chosen = None
        if voice.get("engine") == self.name and voice.get("voice"):
            chosen = str(voice["voice"])
            if not self._fits(chosen, language):
                chosen = None  # an English text of a Spanish flow gets the English voice
        chosen = chosen or self.provider.voice_for(language)
        if chosen is None:
            return None
        options: dict[str, Any] = {"kind": self.kind, "voice": chosen}
        options["language"] = self.language_code(chosen, language)
        options["rate"] = self._rate(voice)
        options.update(self.extra_options())
        return options

    async def synthesize(self, text: str, options: Mapping[str, Any]) -> SourceAudio:
        attempt = 0
        while True:
            if not self.breaker.admit():
                reason = self.breaker.reason or "recent failures"
                raise ProviderError(self.name, "open", reason)
            try:
                audio = await self._attempt(text, options)
            except ProviderError as exc:
                metrics.tts_requests_total.labels(self.name, exc.outcome).inc()
                wait = self._after_failure(exc, attempt)
                if wait is None:
                    raise
                attempt += 1
                log.info("%s; retrying in %.1f s", exc, wait)
                await asyncio.sleep(wait)
                continue
            metrics.tts_requests_total.labels(self.name, "ok").inc()
            self.breaker.succeeded()
            return audio

    def _after_failure(self, exc: ProviderError, attempt: int) -> float | None:
        """Record the failure; the seconds to wait before retrying, or ``None``: give up."""
        if exc.outcome not in _UNWELL:
            self.breaker.released()
            return None
        wait = exc.retry_after
        retry = exc.outcome in _RETRIED and attempt < self.provider.retries
        if wait is not None and wait > MAX_RETRY_WAIT_S:
            retry = False
        if not retry:
            hold = wait if exc.outcome in ("rate", "quota") and wait else None
            if exc.outcome in ("auth", "quota", "config") and hold is None:
                hold = self.provider.breaker_open_for
            self.breaker.failed(str(exc), open_for=hold)
            return None
        self.breaker.failed(str(exc))
        if self.breaker.state != "closed":
            return None  # that failure opened it: no more requests now
        backoff = min(0.25 * 2**attempt, 2.0) * (0.5 + random.random())
        return wait if wait is not None else backoff

    async def _attempt(self, text: str, options: Mapping[str, Any]) -> SourceAudio:
        key = secret(self.provider.key_env)
        if key is None and self.needs_key():
            raise ProviderError(
                self.name, "auth", f"environment variable {self.provider.key_env} is not set"
            )
        method, url, headers, body = self.request(text, options, key)
        client = self._http()
        try:
            response = await client.request(method, url, headers=headers, content=body)
        except httpx.TimeoutException:
            raise ProviderError(
                self.name, "timeout", f"no answer within {self.provider.timeout:g} s"
            ) from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise ProviderError(self.name, "network", f"bad base_url ({exc})") from None
        except httpx.HTTPError as exc:  # `from None`: the request holds the key
            raise ProviderError(self.name, "network", _transport_reason(exc, url)) from None
        if 300 <= response.status_code < 400:
            where = response.headers.get("location", "elsewhere")
            raise ProviderError(
                self.name, "config", f"redirected to {where}", status=response.status_code
            )
        if response.status_code != 200:
            outcome, detail = self.failure(response)
            for value in (key, secret(self.provider.key_id_env) if self.kind == "polly" else None):
                if value:
                    detail = detail.replace(value, "***")
            raise ProviderError(
                self.name,
                outcome,
                detail[:300] or "no message",
                status=response.status_code,
                retry_after=retry_after(response),
            )
        return self.audio(response)

    def _http(self) -> httpx.AsyncClient:
        # One pooled client per provider and event loop (``prompts build`` runs its own).
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._loop = loop
            timeout = httpx.Timeout(self.provider.timeout, connect=min(self.provider.timeout, 5))
            self._client = httpx.AsyncClient(
                timeout=timeout, headers={"User-Agent": "agi-callbot"}, follow_redirects=False
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    # -- what each kind says ----------------------------------------------------------

    def needs_key(self) -> bool:
        return True

    def extra_options(self) -> dict[str, Any]:
        """What else the audio depends on (the model, the server): part of the cache key."""
        return {}

    def language_code(self, voice: str, language: str) -> str:
        if self.voice_has_language and voice.count("-") >= 2:
            return "-".join(voice.split("-")[:2])
        tags = language_tags(language)
        return tags[0]

    def request(
        self, text: str, options: Mapping[str, Any], key: str | None
    ) -> tuple[str, str, dict[str, str], bytes]:
        raise NotImplementedError

    def audio(self, response: httpx.Response) -> SourceAudio:
        raise NotImplementedError

    def failure(self, response: httpx.Response) -> tuple[str, str]:
        """``(outcome, message)`` of an error answer; by status unless a kind knows better."""
        return by_status(response.status_code), response.text.strip()

    # -- helpers ----------------------------------------------------------------------

    def _fits(self, voice: str, language: str) -> bool:
        if self.voice_has_language and voice.count("-") >= 2:
            return same_language(voice.split("-")[0], language)
        listed = {tag for tag, name in (self.provider.voices or {}).items() if name == voice}
        return not listed or any(same_language(tag, language) for tag in listed)

    def _rate(self, voice: Mapping[str, Any]) -> float:
        """The flow's ``rate`` when it is a speed factor (espeak-ng's are words a minute)."""
        value = voice.get("rate") if voice.get("engine") == self.name else None
        if isinstance(value, int | float) and not isinstance(value, bool) and 0.25 <= value <= 4:
            return round(float(value), 2)
        return round(self.provider.rate, 2)


def by_status(status: int) -> str:
    if status in (401, 403):
        return "auth"
    if status == 429:
        return "rate"
    if status == 408:
        return "timeout"
    if status >= 500:
        return "server"
    return "bad_request"


def _transport_reason(exc: httpx.HTTPError, url: str) -> str:
    parsed = httpx.URL(url)
    host = f"{parsed.host}:{parsed.port}" if parsed.port else parsed.host
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {host}"
    return f"{type(exc).__name__} talking to {host}"
