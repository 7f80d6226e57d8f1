"""Every queue Asterisk has, kept live from AMI events: who is free, who waits.

:class:`QueueState` is seeded from one ``QueueStatus`` (``QueueParams`` /
``QueueMember`` / ``QueueEntry``, transcript 02a/02b) at login, after Asterisk says it
finished booting (``FullyBooted``, transcript 05) or reloaded a module (``Reload``), and
every few minutes as a safety net; in between, the events of an ``Events:
system,agent`` session move it (shapes of transcript 03):

- ``QueueMemberStatus`` / ``QueueMemberPause`` (same headers): the member's device
  state (``Status``), ``Paused`` and ``PausedReason``, ``CallsTaken``;
- ``QueueMemberAdded`` / ``QueueMemberRemoved``: a member joins or leaves a queue;
- ``QueueCallerJoin`` / ``QueueCallerLeave`` / ``QueueCallerAbandon``: callers waiting,
  by ``Uniqueid`` (the longest wait is counted from when each joined);
- ``AgentCalled`` → the member rings (a Local-channel member still shows ``Status: 2``
  while ringing, 02b), ``AgentRingNoAnswer`` ends that, ``AgentConnect`` → in a call
  (no event ever says ``InCall: 1``, 03) with Asterisk's ``HoldTime`` of the caller,
  kept by ``Uniqueid`` for the call record; ``AgentComplete`` → out of the call.

``DeviceStateChange`` is not read: app_queue turns a member's device change into a
``QueueMemberStatus`` of its own (03 shows both), and the ``Queue:<q>_avail`` states are
wrong after a restart until a member changes (README of the AMI transcripts).

An event for a queue the model does not know (created since the last seed) is not
applied: it asks for a new seed instead. Events received while a seed is in flight are
applied again on top of it (each is idempotent), so nothing said meanwhile is lost.
``changed`` is set whenever the model moved: the console's live feed waits on it.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

#: QueueMember ``Status`` (the member's device state) → what an admin is told
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
#: callers' hold times kept for the call records (AgentConnect), oldest forgotten first
HOLD_TIMES_KEPT = 10_000
MEMBER_EVENTS = {"QueueMemberStatus", "QueueMemberPause", "QueueMemberAdded"}


def number(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


@dataclass
class Member:
    name: str
    interface: str
    status: str = "1"
    paused: bool = False
    paused_reason: str = ""
    calls_taken: int = 0
    ringing: bool = False
    in_call: bool = False

    @property
    def state(self) -> str:
        if self.paused:
            return "paused"
        if self.ringing and not self.in_call:
            return "ringing"
        if self.in_call:
            return "busy"
        return DEVICE_STATES.get(self.status, "unavailable")


@dataclass
class Queue:
    strategy: str = ""
    completed: int = 0
    abandoned: int = 0
    members: dict[str, Member] = field(default_factory=dict)  # by interface
    callers: dict[str, float] = field(default_factory=dict)  # Uniqueid → joined (monotonic)


class QueueState:
    """The live model; ``seed()`` with QueueStatus' events, ``apply()`` each AMI event."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.queues: dict[str, Queue] = {}
        self.seeded_at: float | None = None
        self.seeds = 0
        self.events = 0
        self.unknown = 0  # events for queues not seeded
        self.changed = asyncio.Event()
        self.stale = asyncio.Event()  # a new seed is wanted
        self.hold_times: OrderedDict[str, int] = OrderedDict()
        self._during_seed: list[Any] | None = None

    # ------------------------------------------------------------------ seeding

    def seeding(self) -> None:
        """A QueueStatus is in flight: keep the events that arrive until it is applied."""
        self._during_seed = []

    def seed(self, status: Iterable[Any]) -> None:
        """Replace the model with a QueueStatus answer (every queue)."""
        queues: dict[str, Queue] = {}
        now = self.clock()
        for event in status:
            name = str(event.get("Queue", ""))
            if event.event == "QueueParams":
                queues[name] = Queue(
                    strategy=str(event.get("Strategy", "")),
                    completed=number(event.get("Completed")),
                    abandoned=number(event.get("Abandoned")),
                )
            elif name in queues and event.event == "QueueMember":
                member = Member(str(event.get("Name") or ""), str(event.get("Location", "")))
                _update_member(member, event)
                member.in_call = event.get("InCall") == "1"
                queues[name].members[member.interface] = member
            elif name in queues and event.event == "QueueEntry":
                queues[name].callers[str(event.get("Uniqueid", ""))] = now - number(
                    event.get("Wait")
                )
        self.queues = queues
        self.seeded_at = time.time()
        self.seeds += 1
        replay, self._during_seed = self._during_seed or [], None
        for event in replay:
            self.apply(event)
        self.changed.set()

    def seed_failed(self) -> None:
        self._during_seed = None

    def clear(self) -> None:
        """The session is gone (Asterisk restarting, network): nothing here is known now."""
        self.queues = {}
        self.seeded_at = None
        self._during_seed = None
        self.changed.set()

    # ------------------------------------------------------------------ events

    def apply(self, event: Any) -> bool:
        """Move the model by one AMI event; True when it changed."""
        kind = str(event.event or "")
        if kind in ("FullyBooted", "Reload"):
            self.stale.set()
            return False
        handler = _HANDLERS.get(kind)
        if handler is None:
            return False
        self.events += 1
        if kind == "AgentConnect":  # for the call record, whatever the model knows
            self._keep_hold_time(str(event.get("Uniqueid", "")), number(event.get("HoldTime")))
        if self._during_seed is not None:
            self._during_seed.append(event)
        queue = self.queues.get(str(event.get("Queue", "")))
        if queue is None:
            if self.seeded_at is not None:
                self.unknown += 1
                self.stale.set()  # a queue created since the seed: ask again
            return False
        handler(self, queue, event)
        self.changed.set()
        return True

    def _member_event(self, queue: Queue, event: Any) -> None:
        interface = str(event.get("Interface", ""))
        member = queue.members.get(interface)
        if member is None:
            member = queue.members[interface] = Member(
                str(event.get("MemberName") or ""), interface
            )
        _update_member(member, event)
        if event.get("InCall") == "1":  # never seen in events (03), but believe it if said
            member.in_call = True

    def _member_removed(self, queue: Queue, event: Any) -> None:
        queue.members.pop(str(event.get("Interface", "")), None)

    def _caller_join(self, queue: Queue, event: Any) -> None:
        queue.callers.setdefault(str(event.get("Uniqueid", "")), self.clock())

    def _caller_leave(self, queue: Queue, event: Any) -> None:
        queue.callers.pop(str(event.get("Uniqueid", "")), None)
        if event.event == "QueueCallerAbandon":
            queue.abandoned += 1

    def _agent(self, queue: Queue, event: Any) -> None:
        member = queue.members.get(str(event.get("Interface", "")))
        kind = event.event
        if kind == "AgentComplete":
            queue.completed += 1
        if member is None:
            return
        member.ringing = kind == "AgentCalled"
        if kind == "AgentConnect":
            member.in_call = True
        elif kind == "AgentComplete":
            member.in_call = False

    def _keep_hold_time(self, uniqueid: str, seconds: int) -> None:
        if uniqueid:
            self.hold_times[uniqueid] = seconds
            self.hold_times.move_to_end(uniqueid)
            while len(self.hold_times) > HOLD_TIMES_KEPT:
                self.hold_times.popitem(last=False)

    # ------------------------------------------------------------------ reading

    def hold_time(self, uniqueid: str) -> int | None:
        """Asterisk's HoldTime (whole seconds) of the caller ``uniqueid``, if it was answered."""
        return self.hold_times.get(uniqueid)

    def board(self) -> dict[str, dict[str, Any]]:
        """Every queue as the console shows it."""
        now = self.clock()
        board = {}
        for name, queue in sorted(self.queues.items()):
            members = [
                {
                    "name": m.name or m.interface,
                    "interface": m.interface,
                    "state": m.state,
                    "paused_reason": m.paused_reason if m.paused else "",
                    "in_call": m.in_call,
                    "calls_taken": m.calls_taken,
                }
                for m in queue.members.values()
            ]
            oldest = min(queue.callers.values(), default=None)
            board[name] = {
                "strategy": queue.strategy,
                "members": members,
                "callers": len(queue.callers),
                "longest_wait_s": int(now - oldest) if oldest is not None else 0,
                "available": sum(1 for m in members if m["state"] == "available"),
                "completed": queue.completed,
                "abandoned": queue.abandoned,
            }
        return board


def _update_member(member: Member, event: Any) -> None:
    member.name = str(event.get("MemberName") or event.get("Name") or member.name)
    member.status = str(event.get("Status", member.status))
    member.paused = event.get("Paused") == "1"
    member.paused_reason = str(event.get("PausedReason") or "").strip()
    member.calls_taken = number(event.get("CallsTaken"))


_HANDLERS: dict[str, Callable[[QueueState, Queue, Any], None]] = {
    **{kind: QueueState._member_event for kind in MEMBER_EVENTS},
    "QueueMemberRemoved": QueueState._member_removed,
    "QueueCallerJoin": QueueState._caller_join,
    "QueueCallerLeave": QueueState._caller_leave,
    "QueueCallerAbandon": QueueState._caller_leave,
    "AgentCalled": QueueState._agent,
    "AgentRingNoAnswer": QueueState._agent,
    "AgentConnect": QueueState._agent,
    "AgentComplete": QueueState._agent,
}
