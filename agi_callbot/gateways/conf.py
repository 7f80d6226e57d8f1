"""Reading one provider's settings with errors that name the key (``gateways.sms.timeout``).

Settings keep gateway sections as plain mappings (each provider has its own keys), so
each gateway declares the keys it knows and reads them through :class:`ProviderConf`:
a typo is reported with a suggestion, a secret written into the settings file is
refused without echoing it, and a secret's environment variable that is not set fails
at start-up instead of on the first message.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from agi_callbot.config import parse_duration
from agi_callbot.errors import ConfigError
from agi_callbot.log import read_secret as secret

#: keys every HTTP gateway accepts
HTTP_KEYS = frozenset(
    {
        "provider",
        "dry_run",
        "base_url",
        "timeout",
        "connect_timeout",
        "max_connections",
        "idempotency_header",
    }
)
_SECRET_WORDS = ("token", "secret", "password", "api_key", "apikey", "auth")
_MISSING: Any = object()


class ProviderConf:
    """One ``gateways.<channel>`` mapping, validated against the keys a provider knows."""

    def __init__(self, data: Mapping[str, Any], where: str, keys: Iterable[str]) -> None:
        self.data = {str(k): v for k, v in data.items()}
        self.where = where
        known = set(keys) | {"provider", "dry_run"}
        for key in self.data:
            if key in known:
                continue
            path = f"{where}.{key}"
            if any(word in key.lower() for word in _SECRET_WORDS) and not key.endswith("_env"):
                raise ConfigError(
                    f"setting {path!r}: secrets are never read from the settings; "
                    f"put it in an environment variable and name it with '{key}_env'"
                )
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"unknown setting {path!r}{hint}")

    def path(self, key: str) -> str:
        return f"{self.where}.{key}"

    def text(self, key: str, default: Any = _MISSING) -> str:
        value = self.data.get(key, default)
        if value is _MISSING or value is None or value == "":
            if default is _MISSING:
                raise ConfigError(f"setting {self.path(key)!r} is required")
            return default
        if isinstance(value, Mapping | list | bool):
            raise ConfigError(f"setting {self.path(key)!r}: expected text, got {value!r}")
        return str(value)

    def optional(self, key: str) -> str | None:
        return self.text(key, None)

    def url(self, key: str, default: Any = _MISSING) -> str:
        value = self.text(key, default)
        if value is None:
            return value
        if not value.startswith(("http://", "https://")):
            raise ConfigError(f"setting {self.path(key)!r}: expected an http(s) URL, got {value!r}")
        return value.rstrip("/")

    def integer(self, key: str, default: int) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(
                f"setting {self.path(key)!r}: expected a non-negative integer, got {value!r}"
            )
        return value

    def duration(self, key: str, default: float) -> float:
        try:
            return parse_duration(self.data.get(key, default))
        except ValueError as exc:
            raise ConfigError(f"setting {self.path(key)!r}: {exc}") from exc

    def mapping(self, key: str, default: Any = _MISSING) -> Any:
        value = self.data.get(key, default)
        if value is _MISSING:
            raise ConfigError(f"setting {self.path(key)!r} is required")
        if value is not None and not isinstance(value, Mapping | list):
            raise ConfigError(f"setting {self.path(key)!r}: expected a mapping, got {value!r}")
        return value

    def secret(
        self, key: str, *, required: bool = True, default_env: str | None = None
    ) -> str | None:
        """Read the secret whose environment variable ``key`` names (``auth_token_env``)."""
        env_name = self.data.get(key, default_env)
        if env_name is None:
            if required:
                raise ConfigError(
                    f"setting {self.path(key)!r} is required (an environment variable name)"
                )
            return None
        value = secret(str(env_name))
        if value is None and required:
            raise ConfigError(
                f"setting {self.path(key)!r}: environment variable {env_name!r} is not set"
            )
        return value

    def http_client(self, *, default_timeout: float = 10.0) -> httpx.AsyncClient:
        """The one client a gateway sends with: bounded waits, a bounded pool, no redirects.

        Redirects are not followed: a provider that redirects a POST is misconfigured,
        and following it could re-send a message or leak the auth header to another host.
        """
        timeout = self.duration("timeout", default_timeout)
        connect = self.duration("connect_timeout", min(timeout, 5.0))
        size = self.integer("max_connections", 20) or 20
        return httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=connect),
            limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
            follow_redirects=False,
            headers={"User-Agent": "agi-callbot"},
        )
