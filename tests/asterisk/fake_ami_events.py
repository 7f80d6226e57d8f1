"""The unsolicited queue events the fake AMI server sends, in Asterisk 22's shapes.

Recorded (transcript 03, every header in its order; ``test_ami_fake_replay.py`` compares
them): ``QueueMemberStatus``, ``QueueCallerJoin``, ``QueueCallerLeave``, ``AgentCalled``,
``AgentConnect``, ``AgentComplete``. Not recorded, built the way app_queue builds them
(Asterisk 22 documentation): ``QueueMemberPause`` / ``QueueMemberAdded`` /
``QueueMemberRemoved`` carry the same member headers as ``QueueMemberStatus`` (one
member blob for all four); ``QueueCallerAbandon`` the caller's channel headers plus
``Queue``, ``Position``, ``OriginalPosition``, ``HoldTime`` (seen with these values in
the ``[ami]`` lines of the AGI transcripts 11, 12, 38); ``Reload`` ``Module`` and
``Status`` (class system).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

Headers = list[tuple[str, str]]
TRANSCRIPTS = Path(__file__).resolve().parent.parent / "ami_transcripts"
#: ``# … Event (N lines) key=value … [same shape as the first Event above]``
SHAPE = re.compile(r"^# … (\w+) \(\d+ lines\) (.*) \[same shape as the first \1 above\]$")


def stamp(event: str, privilege: str = "agent,all") -> Headers:
    return [("Event", event), ("Privilege", privilege), ("Timestamp", f"{time.time():.6f}")]


@dataclass
class Leg:
    """One channel as AMI describes it (the caller's, or the agent's with ``Dest``)."""

    channel: str
    uniqueid: str
    linkedid: str
    number: str = "15550111"
    name: str = "Queue Caller"
    context: str = "ami-in"
    exten: str = "caller"
    priority: str = "2"
    state: str = "6"
    state_desc: str = "Up"

    def headers(self, prefix: str = "") -> Headers:
        fields = [
            ("Channel", self.channel),
            ("ChannelState", self.state),
            ("ChannelStateDesc", self.state_desc),
            ("CallerIDNum", self.number),
            ("CallerIDName", self.name),
            ("ConnectedLineNum", self.number),
            ("ConnectedLineName", self.name),
            ("Language", "en"),
            ("AccountCode", ""),
            ("Context", self.context),
            ("Exten", self.exten),
            ("Priority", self.priority),
            ("Uniqueid", self.uniqueid),
            ("Linkedid", self.linkedid),
        ]
        return [(prefix + k, v) for k, v in fields]


def member_event(event: str, queue: str, member) -> Headers:
    """QueueMemberStatus (recorded), and Pause/Added/Removed (the same member blob)."""
    return [
        *stamp(event),
        ("Queue", queue),
        ("MemberName", member.name),
        ("Interface", member.location),
        ("StateInterface", member.location),
        ("Membership", "static"),
        ("Penalty", str(member.penalty)),
        ("CallsTaken", str(member.calls_taken)),
        ("LastCall", str(member.last_call)),
        ("LastPause", str(member.last_pause)),
        ("LoginTime", str(member.login_time)),
        ("InCall", "1" if member.in_call else "0"),
        ("Status", str(member.status)),
        ("Paused", "1" if member.paused else "0"),
        ("PausedReason", member.paused_reason),
        ("Ringinuse", "0"),
        ("Wrapuptime", "0"),
    ]


def caller_event(event: str, queue: str, caller: Leg, position: int, count: int) -> Headers:
    """QueueCallerJoin / QueueCallerLeave: the caller's channel, Queue, Position, Count."""
    return [
        *stamp(event),
        *caller.headers(),
        ("Queue", queue),
        ("Position", str(position)),
        ("Count", str(count)),
    ]


def abandon_event(queue: str, caller: Leg, position: int, original: int, held: int) -> Headers:
    return [
        *stamp("QueueCallerAbandon"),
        *caller.headers(),
        ("Queue", queue),
        ("Position", str(position)),
        ("OriginalPosition", str(original)),
        ("HoldTime", str(held)),
    ]


def agent_event(
    event: str, queue: str, caller: Leg, agent: Leg, member, *extra: tuple[str, str]
) -> Headers:
    """AgentCalled (no extra), AgentConnect (HoldTime, RingTime), AgentComplete
    (HoldTime, TalkTime, Reason), AgentRingNoAnswer (RingTime in ms)."""
    return [
        *stamp(event),
        *caller.headers(),
        *agent.headers("Dest"),
        ("Queue", queue),
        ("Interface", member.location),
        ("MemberName", member.name),
        *extra,
    ]


def reload_event(module: str = "app_queue.so") -> Headers:
    return [*stamp("Reload", "system,all"), ("Module", module), ("Status", "0")]


def recorded_events(name: str) -> list[list[str]]:
    """Every event the server sent in transcript ``name``, in order, as header lines: the
    full ones as recorded, and each one written as ``# … Event (N lines) key=value …
    [same shape as the first Event above]`` rebuilt from the first full one of its kind
    with those values. (Events shown as ``[not shown]`` or trimmed are left out.)"""
    events: list[list[str]] = []
    first: dict[str, list[str]] = {}
    lines: list[str] = []
    for raw in (TRANSCRIPTS / f"{name}.txt").read_text(encoding="utf-8").splitlines():
        if raw.startswith("S: ") and raw != "S: " and not raw.startswith("S: Asterisk Call"):
            lines.append(raw[3:])
        elif raw == "S: ":
            if lines and lines[0].startswith("Event: "):
                first.setdefault(lines[0][7:], lines)
                events.append(lines)
            lines = []
        elif match := SHAPE.match(raw):
            values = dict(pair.split("=", 1) for pair in re.findall(r"(\w[\w-]*=\S+)", match[2]))
            events.append([_override(line, values) for line in first[match[1]]])
    return events


def _override(line: str, values: dict[str, str]) -> str:
    name, _, _ = line.partition(": ")
    return f"{name}: {values[name]}" if name in values else line
