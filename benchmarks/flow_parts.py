"""Where a call's CPU goes: a cProfile dump of the server's event-loop thread, by part.

Each function's own time (``tottime``) goes to the part its file belongs to:

  wire      agi_callbot/agi, agi_callbot/transport, agi_callbot/channel (parsing, quoting,
            deadlines)
  engine    agi_callbot/flow, router.py (blocks, expressions, interpolation)
  prompts   agi_callbot/tts, services.py (cache lookups)
  records   records.py (the call record)
  outbox    agi_callbot/outbox, gateways (enqueue checks, opt-ins)
  logging   log.py and the logging package
  metrics   metrics.py and prometheus_client
  loop      what no part of ours called: asyncio's event loop, selectors, socket reads

Code that is not ours (the standard library, phonenumbers, json, sqlite3 bindings…)
takes the part of whoever called it, shared out as cProfile recorded per caller; so
``phonenumbers.parse`` called from the outbox's checks counts as outbox, from the call
variables as engine. The profile slows everything down by about the same factor, so
the shares, scaled to the CPU measured without the profiler, are what is printed. The
dump counts the thread's CPU time (``flow_server.py --profile``), not wall time: a
``send`` that wakes the generator on the same core is not charged with its run. Each
Python call costs the profiler ~1 µs, so parts of many small calls weigh more than they
cost: a map of where the time goes, not a measurement.
"""

from __future__ import annotations

import pstats
from collections import defaultdict

PARTS = ("wire", "engine", "prompts", "records", "outbox", "logging", "metrics", "loop", "other")

_OURS = (
    ("agi_callbot/agi/", "wire"),
    ("agi_callbot/transport/", "wire"),
    ("agi_callbot/channel/", "wire"),
    ("agi_callbot/flow/", "engine"),
    ("agi_callbot/router.py", "engine"),
    ("agi_callbot/tts/", "prompts"),
    ("agi_callbot/services.py", "prompts"),
    ("agi_callbot/records.py", "records"),
    ("agi_callbot/outbox/", "outbox"),
    ("agi_callbot/gateways/", "outbox"),
    ("agi_callbot/log.py", "logging"),
    ("/logging/", "logging"),
    ("agi_callbot/metrics.py", "metrics"),
    ("prometheus_client/", "metrics"),
)
Func = tuple[str, int, str]


def _own_part(func: Func) -> str | None:
    filename = func[0].replace("\\", "/")
    for marker, part in _OURS:
        if marker in filename:
            return part
    if "agi_callbot/" in filename:
        return "other"
    return None


def shares(profile_path: str) -> dict[str, float]:
    """Each part's share (0..1) of the profiled thread's time."""
    stats = pstats.Stats(profile_path).stats  # type: ignore[attr-defined]
    resolved: dict[Func, dict[str, float]] = {}

    def parts_of(func: Func, depth: int = 0) -> dict[str, float]:
        """How ``func``'s own time splits between parts (fractions summing to 1)."""
        if func in resolved:
            return resolved[func]
        own = _own_part(func)
        if own is not None:
            result = {own: 1.0}
        else:
            callers = stats[func][4] if func in stats else {}
            total = sum(entry[2] for entry in callers.values()) or sum(
                entry[1] for entry in callers.values()
            )
            if not callers or depth > 40 or total <= 0:
                result = {"loop": 1.0}
            else:
                resolved[func] = {"loop": 1.0}  # cycle guard while we walk up
                mix: dict[str, float] = defaultdict(float)
                for caller, entry in callers.items():
                    weight = (entry[2] if total else entry[1]) / total
                    if weight <= 0:
                        continue
                    for part, fraction in parts_of(caller, depth + 1).items():
                        mix[part] += weight * fraction
                result = dict(mix) or {"loop": 1.0}
        resolved[func] = result
        return result

    seconds: dict[str, float] = defaultdict(float)
    for func, (_cc, _nc, tottime, _ct, _callers) in stats.items():
        for part, fraction in parts_of(func).items():
            seconds[part] += tottime * fraction
    total = sum(seconds.values()) or 1.0
    return {part: seconds.get(part, 0.0) / total for part in PARTS}


def top(profile_path: str, n: int = 25) -> list[tuple[str, float, int]]:
    """The ``n`` functions with the most own time: (name, share of all, calls)."""
    stats = pstats.Stats(profile_path).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in stats.values()) or 1.0
    rows = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[:n]
    out = []
    for (filename, line, name), (_cc, nc, tottime, _ct, _callers) in rows:
        where = filename.rsplit("site-packages/", 1)[-1].rsplit("lib/python3", 1)[-1]
        out.append((f"{where}:{line} {name}", tottime / total, nc))
    return out
