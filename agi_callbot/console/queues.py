"""The queues as Asterisk reports them over AMI, for the Teams page.

One ``QueueStatus`` and one ``QueueSummary`` for every queue at once (no ``Queue:``
header), under the AMI client's deadline: members (who is available, paused, busy,
ringing, unavailable), callers waiting and the longest wait. The console asks only
while someone looks (the Teams page, its live feed), never on a call's path.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agi_callbot.console.state import Console

AMI_OFF = "AMI is off (ami.enabled: false): queue states are not known"

#: QueueMember ``Status`` (the member's device state) → what the page says
DEVICE_STATES = {
    "0": "available",  # unknown: app_queue rings it
    "1": "available",  # not in use
    "2": "busy",  # in use
    "3": "busy",
    "4": "unavailable",  # invalid
    "5": "unavailable",
    "6": "ringing",
    "7": "busy",  # ringing and in use
    "8": "busy",  # on hold
}


def ami_client(console: Console) -> Any:
    """The node's AMI client, or ``None`` when AMI is off (or no node is behind)."""
    teams = getattr(console.services, "teams", None)
    return getattr(teams, "client", None)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def member_state(event: Any) -> str:
    if event.get("Paused") == "1":
        return "paused"
    return DEVICE_STATES.get(str(event.get("Status", "")), "unavailable")


async def queue_board(console: Console) -> dict[str, Any]:
    """``{"ami": {...}, "queues": {name: {...}}}``; an empty board when AMI cannot say."""
    client = ami_client(console)
    if client is None:
        return {"ami": {"enabled": False, "connected": False, "error": AMI_OFF}, "queues": {}}
    if not client.logged_in:
        error = client.last_error or "connecting"
        return {"ami": {"enabled": True, "connected": False, "error": error}, "queues": {}}
    try:
        status, summary = await asyncio.gather(
            client.list_action("QueueStatus"), client.list_action("QueueSummary")
        )
    except Exception as exc:  # AmiError: timeout, connection lost
        return {"ami": {"enabled": True, "connected": False, "error": str(exc)}, "queues": {}}
    queues: dict[str, dict[str, Any]] = {}
    for event in status:
        name = str(event.get("Queue", ""))
        if event.event == "QueueParams":
            queues[name] = {
                "strategy": event.get("Strategy", ""),
                "members": [],
                "callers": 0,
                "longest_wait_s": 0,
                "available": 0,
                "completed": _int(event.get("Completed")),
                "abandoned": _int(event.get("Abandoned")),
            }
    for event in status:
        queue = queues.get(str(event.get("Queue", "")))
        if queue is None:
            continue
        if event.event == "QueueMember":
            queue["members"].append(
                {
                    "name": event.get("Name", "") or event.get("Location", ""),
                    "interface": event.get("Location", ""),
                    "state": member_state(event),
                    "paused_reason": (event.get("PausedReason") or "").strip(),
                    "in_call": event.get("InCall") == "1",
                    "calls_taken": _int(event.get("CallsTaken")),
                }
            )
        elif event.event == "QueueEntry":
            queue["callers"] += 1
            queue["longest_wait_s"] = max(queue["longest_wait_s"], _int(event.get("Wait")))
    for event in summary:
        queue = queues.get(str(event.get("Queue", "")))
        if queue is not None and event.event == "QueueSummary":
            queue["available"] = _int(event.get("Available"))
            queue["callers"] = _int(event.get("Callers"))
            queue["longest_wait_s"] = _int(event.get("LongestHoldTime"))
    return {"ami": {"enabled": True, "connected": True, "error": ""}, "queues": queues}
