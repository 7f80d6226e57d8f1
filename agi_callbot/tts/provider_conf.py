"""One entry of ``tts.providers``, read and checked: what a provider engine is built from.

Every mistake an admin can make here fails start-up (and ``doctor``) with the setting's
path: an unknown kind, a missing region, a rate out of range, a key that is not a
setting. Secrets are not here: ``key_env`` only names the environment variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agi_callbot.config import parse_duration
from agi_callbot.errors import ConfigError
from agi_callbot.tts.engines import language_tags

KINDS = ("google", "azure", "polly", "openai")


@dataclass(frozen=True)
class ProviderSettings:
    """One entry of ``tts.providers``, checked."""

    name: str
    kind: str
    base_url: str
    key_env: str
    region: str = ""
    #: language tag (lower case: ``es``, ``es-mx``) → voice name
    voices: Mapping[str, str] | None = None
    #: speaking rate, 1.0 = the voice's normal speed (0.5 … 2.0)
    rate: float = 1.0
    #: per request (connect + answer); the live budget is separate and shorter
    timeout: float = 10.0
    retries: int = 2
    #: openai: the model (``tts-1``, ``gpt-4o-mini-tts``, a local server's name);
    #: polly: the engine (``neural``, ``standard``, ``generative``, ``long-form``)
    model: str = ""
    #: polly: the variable holding the access key id (key_env holds the secret key)
    key_id_env: str = "AWS_ACCESS_KEY_ID"
    session_token_env: str = "AWS_SESSION_TOKEN"
    breaker_failures: int = 3
    breaker_open_for: float = 30.0

    @classmethod
    def parse(cls, name: str, raw: Any) -> ProviderSettings:
        where = f"tts.providers.{name}"
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}: expected a mapping such as {{kind: google, …}}")
        known = {
            "kind", "base_url", "key_env", "region", "voices", "rate", "timeout", "retries",
            "model", "key_id_env", "session_token_env", "breaker_failures", "breaker_open_for",
        }  # fmt: skip
        for key in raw:
            if key not in known:
                raise ConfigError(f"unknown setting '{where}.{key}' (known: {', '.join(known)})")
        kind = str(raw.get("kind") or "")
        if kind not in KINDS:
            raise ConfigError(f"{where}.kind: {kind!r} is not one of {', '.join(KINDS)}")
        region = str(raw.get("region") or "")
        base_url = str(raw.get("base_url") or "")
        if not base_url:
            if kind in ("azure", "polly") and not region:
                raise ConfigError(f"{where}: {kind} needs a region (or a base_url)")
            base_url = DEFAULT_URLS[kind].format(region=region)
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}.base_url: {base_url!r} is not an http(s) URL")
        voices = raw.get("voices") or {}
        if not isinstance(voices, Mapping) or not all(
            isinstance(v, str) and v for v in voices.values()
        ):
            raise ConfigError(f"{where}.voices: expected {{language: voice name}}")
        return cls(
            name=name,
            kind=kind,
            base_url=base_url.rstrip("/"),
            key_env=str(raw.get("key_env") or DEFAULT_KEY_ENVS[kind]),
            region=region,
            voices={str(k).lower().replace("_", "-"): str(v) for k, v in voices.items()},
            rate=_number(raw, "rate", 1.0, 0.25, 4.0, where),
            timeout=_seconds(raw, "timeout", 10.0, where),
            retries=int(_number(raw, "retries", 2, 0, 10, where)),
            model=str(raw.get("model") or DEFAULT_MODELS.get(kind, "")),
            key_id_env=str(raw.get("key_id_env") or "AWS_ACCESS_KEY_ID"),
            session_token_env=str(raw.get("session_token_env") or "AWS_SESSION_TOKEN"),
            breaker_failures=int(_number(raw, "breaker_failures", 3, 1, 100, where)),
            breaker_open_for=_seconds(raw, "breaker_open_for", 30.0, where),
        )

    def voice_for(self, language: str) -> str | None:
        for tag in language_tags(language):
            if self.voices and tag in self.voices:
                return self.voices[tag]
        return None


DEFAULT_URLS = {
    "google": "https://texttospeech.googleapis.com",
    "azure": "https://{region}.tts.speech.microsoft.com",
    "polly": "https://polly.{region}.amazonaws.com",
    "openai": "https://api.openai.com/v1",
}
DEFAULT_KEY_ENVS = {
    "google": "GOOGLE_TTS_API_KEY",
    "azure": "AZURE_SPEECH_KEY",
    "polly": "AWS_SECRET_ACCESS_KEY",
    "openai": "OPENAI_API_KEY",
}
DEFAULT_MODELS = {"openai": "tts-1", "polly": "neural"}


def _number(raw: Mapping[str, Any], key: str, default: float, low: float, high: float, where: str):
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(f"{where}.{key}: expected a number from {low:g} to {high:g}")
    return float(value)


def _seconds(raw: Mapping[str, Any], key: str, default: float, where: str) -> float:
    try:
        value = parse_duration(raw.get(key, default))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}.{key}: {exc}") from exc
    if value <= 0:
        raise ConfigError(f"{where}.{key}: must be more than 0")
    return value
