"""What ``doctor`` asks of each text-to-speech provider, and of the running node.

A provider is checked the only way that shows a refused key, a disabled API, a voice
that does not exist and an exhausted quota alike: one real synthesis of one word per
configured voice (a few characters of quota), without retries, so the answer is the
provider's own. The running node's circuit breakers are read from its ``/metrics``
(``callbot_tts_breaker_state``): a breaker open there means callers are hearing the
next engine of the chain right now.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

from agi_callbot.config import Settings, secret
from agi_callbot.errors import ConfigError
from agi_callbot.tts.neural import KIND_ENGINES
from agi_callbot.tts.provider_conf import ProviderSettings
from agi_callbot.tts.providers import ProviderError
from agi_callbot.tts.ssml import ssml_body

#: one word per language (what the probe costs: a handful of characters)
PROBE_WORDS = {"es": "Prueba.", "en": "Test.", "fr": "Essai.", "de": "Test.", "pt": "Teste."}
BREAKER_STATES = {0: "closed", 1: "half-open", 2: "open"}


@dataclass(frozen=True)
class ProviderCheck:
    name: str
    ok: bool
    detail: str
    #: a problem that does not stop calls (the next engine speaks): warn, not fail
    warning: bool = False


async def check_providers(
    settings: Settings, named_by_flows: set[str] | None = None
) -> list[ProviderCheck]:
    """One check per provider declared under ``tts.providers``; a failing one that nothing
    uses (not in ``tts.engines``, named by no flow) is a warning."""
    results = []
    for name, raw in settings.tts.providers.items():
        try:
            provider = ProviderSettings.parse(name, raw)
        except ConfigError as exc:
            results.append(ProviderCheck(name, False, str(exc)))
            continue
        in_chain = name in settings.tts.engines
        used = in_chain or name in (named_by_flows or set())
        result = await _probe(settings, provider, in_chain)
        if not used and not result.ok:
            result = dataclasses.replace(result, warning=True)
        results.append(result)
    return results


async def _probe(settings: Settings, provider: ProviderSettings, in_chain: bool) -> ProviderCheck:
    where = "" if in_chain else " (not in tts.engines: only flows naming it use it)"
    engine = KIND_ENGINES[provider.kind](settings.tts, dataclasses.replace(provider, retries=0))
    if engine.needs_key() and secret(provider.key_env) is None:
        return ProviderCheck(
            provider.name, False, f"environment variable {provider.key_env} is not set{where}"
        )
    voices = dict(provider.voices or {})
    if not voices:
        return ProviderCheck(provider.name, False, "no voices: set voices: {es: …, en: …}")
    spoken = []
    try:
        for language, voice in voices.items():
            options = engine.options(language, {"engine": provider.name, "voice": voice})
            if options is None:
                continue
            word = PROBE_WORDS.get(language.split("-")[0], "OK.")
            text = ssml_body(word) if engine.takes_ssml(options) else word
            started = time.perf_counter()
            await engine.synthesize(text, options)
            spoken.append(f"{voice} {1000 * (time.perf_counter() - started):.0f} ms")
    except ProviderError as exc:
        return ProviderCheck(provider.name, False, f"{exc}{where}", warning=exc.outcome == "rate")
    finally:
        await engine.aclose()
    return ProviderCheck(provider.name, True, f"{provider.kind}: {', '.join(spoken)}{where}")


async def node_breakers(settings: Settings, timeout: float = 2.0) -> dict[str, str] | None:
    """Breaker state per provider on the running node; ``None``: no node answered."""
    if not settings.http.enabled:
        return None
    host = settings.http.host if settings.http.host not in ("0.0.0.0", "::") else "127.0.0.1"
    url = f"http://{host}:{settings.http.port}/metrics"
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(url)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    states: dict[str, str] = {}
    try:
        families = list(text_string_to_metric_families(response.text))
    except ValueError:
        return None
    for family in families:
        if family.name != "callbot_tts_breaker_state":
            continue
        for sample in family.samples:
            provider = sample.labels.get("provider", "")
            states[provider] = BREAKER_STATES.get(int(sample.value), "unknown")
    return states
