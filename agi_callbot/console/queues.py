"""The queues as Asterisk reports them over AMI, for the Teams page and the dashboard.

The node keeps every queue live from AMI events
(:class:`~agi_callbot.asterisk.queue_state.QueueState`, seeded by ``QueueStatus``):
members (who is available, paused, busy, ringing, unavailable), callers waiting and the
longest wait. The console reads that model and asks Asterisk nothing, however many
pages are open.
"""

from __future__ import annotations

from typing import Any

from agi_callbot.console.state import Console

AMI_OFF = "AMI is off (ami.enabled: false): queue states are not known"
NO_EVENTS = "the AMI session takes no events (Events: off): queue states are not kept"
SEEDING = "reading the queues (QueueStatus)"


def ami_client(console: Console) -> Any:
    """The node's AMI client, or ``None`` when AMI is off (or no node is behind)."""
    teams = getattr(console.services, "teams", None)
    return getattr(teams, "client", None)


def queue_state(console: Console) -> Any:
    """The node's live queue model, or ``None`` when its AMI session takes no events."""
    teams = getattr(console.services, "teams", None)
    return getattr(teams, "state", None) if getattr(teams, "live", False) else None


def queue_board(console: Console) -> dict[str, Any]:
    """``{"ami": {...}, "queues": {name: {...}}}``; no queues when AMI cannot say."""
    client = ami_client(console)
    if client is None:
        return {"ami": {"enabled": False, "connected": False, "error": AMI_OFF}, "queues": {}}
    if not client.logged_in:
        error = client.last_error or "connecting"
        return {"ami": {"enabled": True, "connected": False, "error": error}, "queues": {}}
    state = queue_state(console)
    if state is None or state.seeded_at is None:
        error = NO_EVENTS if state is None else SEEDING
        return {"ami": {"enabled": True, "connected": False, "error": error}, "queues": {}}
    return {"ami": {"enabled": True, "connected": True, "error": ""}, "queues": state.board()}
