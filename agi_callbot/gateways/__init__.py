"""Message gateways: one small class per provider, chosen per channel in the settings.

``build_gateways(settings)`` returns ``{channel: Gateway}`` for ``sms``, ``whatsapp``,
``email`` and ``webhook``. A channel left out of ``settings.gateways`` (or with
``dry_run: true``) gets a :class:`DryRunGateway` that logs and sends nothing, so a fresh
install runs flows end to end without provider accounts.

Gateways raise :class:`~agi_callbot.errors.GatewayError` (``retryable`` tells the
outbox whether to try again); secrets come only from the environment variables the
settings name, and never appear in logs or error messages.
"""

from __future__ import annotations

from agi_callbot.gateways.base import (
    DryRunGateway,
    Gateway,
    Sent,
    build_gateways,
    probe,
    register,
)

__all__ = ["DryRunGateway", "Gateway", "Sent", "build_gateways", "probe", "register"]
