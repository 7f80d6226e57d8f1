"""The opt-in ledger: who agreed to receive what on which channel, when and how.

WhatsApp Business rules need the recipient's consent before a business-initiated
message; a flow records it (``optin: {channel: whatsapp}`` after "press 1 to receive it
on WhatsApp") and the outbox checks it before storing and again before sending.
"""

from __future__ import annotations

import logging

from agi_callbot.outbox.store import Store
from agi_callbot.phone import show_number, to_e164, why_not
from agi_callbot.services import Clock

log = logging.getLogger("agi_callbot.outbox")


class OptIns:
    """The opt-in ledger (who consented to which channel, when and how), in the outbox store.

    Numbers are normalised like the messages' so ``600111222`` and ``+34600111222`` are
    the same person. The ledger is append-only: a revocation is an entry too.
    """

    def __init__(self, store: Store, clock: Clock, region: str) -> None:
        self.store = store
        self.clock = clock
        self.region = region

    async def has(self, number: str, channel: str) -> bool:
        e164 = to_e164(number, self.region)
        return e164 is not None and await self.store.optin_has(e164, channel)

    async def record(self, number: str, channel: str, source: str) -> bool:
        """Record consent; ``False`` (and nothing stored) when the number is not usable."""
        return await self._add(number, channel, source, "in")

    async def revoke(self, number: str, channel: str, source: str = "revoked") -> bool:
        return await self._add(number, channel, source, "out")

    async def ledger(self, limit: int = 200) -> list[dict[str, object]]:
        """The newest entries first, each with ``current``: still this number's last word
        on that channel (a revocation shows on the consent it ended)."""
        rows = await self.store.optin_ledger(limit)
        seen: set[tuple[str, str]] = set()
        out = []
        for seq, number, channel, source, action, at in rows:
            key = (number, channel)
            out.append(
                {"seq": seq, "number": number, "channel": channel, "source": source,
                 "action": action, "at": at, "current": key not in seen}
            )  # fmt: skip
            seen.add(key)
        return out

    async def entry(self, seq: int) -> dict[str, object] | None:
        rows = await self.store.optin_ledger(1, seq)
        if not rows:
            return None
        seq, number, channel, source, action, at = rows[0]
        return {"seq": seq, "number": number, "channel": channel, "source": source,
                "action": action, "at": at}  # fmt: skip

    async def _add(self, number: str, channel: str, source: str, action: str) -> bool:
        e164 = to_e164(number, self.region)
        if e164 is None:
            log.info(
                "opt-in %s for %s not recorded: %s", action, channel, why_not(number, self.region)
            )
            return False
        await self.store.optin_add(e164, channel, source, action, self.clock.now())
        log.info("opt-in %s: %s on %s (%s)", action, show_number(e164), channel, source)
        return True
