"""The gateway contract, the provider registry and the dry-run gateway."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from agi_callbot.config import Settings
from agi_callbot.errors import ConfigError
from agi_callbot.phone import show_number
from agi_callbot.services import Message

log = logging.getLogger("agi_callbot.gateways")

CHANNELS = ("sms", "whatsapp", "email", "webhook")

#: provider modules, imported on first use so a channel's dependencies load only if used
_MODULES = {
    "sms": "agi_callbot.gateways.sms",
    "whatsapp": "agi_callbot.gateways.whatsapp",
    "email": "agi_callbot.gateways.email",
    "webhook": "agi_callbot.gateways.webhook",
}
#: the provider a channel uses when its settings do not name one
_DEFAULT_PROVIDER = {"sms": "http", "whatsapp": "meta", "email": "smtp", "webhook": "http"}

Factory = Callable[[Settings, Mapping[str, Any], str], "Gateway"]
_REGISTRY: dict[tuple[str, str], Factory] = {}


@dataclass(frozen=True)
class Sent:
    """A provider accepted the message. ``provider_id`` is its id (for status callbacks)."""

    provider_id: str | None
    provider: str = ""


@runtime_checkable
class Gateway(Protocol):
    channel: str
    provider: str

    async def send(self, message: Message, *, key: str) -> Sent:
        """Deliver ``message`` once per ``key`` where the provider honours idempotency keys.

        Raises ``GatewayError``; ``retryable=False`` means sending it again cannot help.
        """
        ...

    async def aclose(self) -> None: ...


def register(channel: str, provider: str) -> Callable[[Factory], Factory]:
    """Class decorator: make ``provider`` selectable for ``channel`` in the settings."""

    def decorate(factory: Factory) -> Factory:
        _REGISTRY[(channel, provider)] = factory
        return factory

    return decorate


class DryRunGateway:
    """Logs what would be sent; used for channels without settings and with ``dry_run: true``."""

    provider = "dry-run"

    def __init__(self, channel: str) -> None:
        self.channel = channel

    async def send(self, message: Message, *, key: str) -> Sent:
        log.info(
            "dry-run %s to %s (key %s, fields %s)",
            self.channel,
            show_number(message.to) if message.channel != "webhook" else message.to,
            key,
            ",".join(sorted(message.payload)),
        )
        return Sent("dry-run", self.provider)

    async def aclose(self) -> None:
        return None


async def probe(gateways: Mapping[str, Any]) -> dict[str, str | None]:
    """Can each channel reach its provider? ``{channel: None | what is wrong}``.

    For start-up logs and ``doctor``: an unreachable provider is reported, never fatal
    (the outbox keeps messages until it answers). Gateways without a ``check()`` (dry-run,
    test doubles) count as fine.
    """
    results: dict[str, str | None] = {}
    for channel, gateway in gateways.items():
        check = getattr(gateway, "check", None)
        results[channel] = await check() if check is not None else None
    return results


def build_gateways(settings: Settings) -> dict[str, Gateway]:
    """One gateway per channel; raises ``ConfigError`` naming the bad key (``gateways.sms.url``)."""
    unknown = sorted(set(settings.gateways) - set(CHANNELS))
    if unknown:
        raise ConfigError(
            f"unknown gateway channel 'gateways.{unknown[0]}' "
            f"(expected one of {', '.join(CHANNELS)})"
        )
    built: dict[str, Gateway] = {}
    for channel in CHANNELS:
        conf = settings.gateways.get(channel)
        where = f"gateways.{channel}"
        if conf is None:
            built[channel] = DryRunGateway(channel)
            continue
        if not isinstance(conf, Mapping):
            raise ConfigError(f"setting {where!r}: expected a mapping, got {conf!r}")
        if _flag(conf, "dry_run", where):
            built[channel] = DryRunGateway(channel)
            continue
        provider = str(conf.get("provider", _DEFAULT_PROVIDER[channel]))
        importlib.import_module(_MODULES[channel])
        factory = _REGISTRY.get((channel, provider))
        if factory is None:
            known = sorted(p for c, p in _REGISTRY if c == channel)
            raise ConfigError(
                f"setting '{where}.provider': unknown provider {provider!r} "
                f"(expected one of {', '.join(known)})"
            )
        built[channel] = factory(settings, conf, where)
    return built


def _flag(conf: Mapping[str, Any], key: str, where: str) -> bool:
    value = conf.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"setting '{where}.{key}': expected true or false, got {value!r}")
    return value
