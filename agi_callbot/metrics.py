"""Prometheus metrics of one callbot node, exposed on the HTTP listener's ``/metrics``.

Every metric lives in this module's own :data:`REGISTRY` rather than
prometheus-client's global one: tests and benchmarks that build several servers in one
process read exactly this node's figures, and libraries that register on the global
registry cannot leak into our exposition.

Counters and histograms are updated where things happen (the transport times each
AGI command, the router counts calls, the outbox workers count sends). Values that
are cheaper to read than to track — the outbox depth by status, the age of its oldest
message, AMI state, queue availability — are refreshed at scrape time by collector
callbacks registered with :func:`add_collector`: the ``/metrics`` handler awaits
:func:`refresh`, which runs each callback under a deadline, so a slow database makes
the figures stale (and counts ``callbot_metrics_collector_errors_total``) instead of
hanging the scrape.

Label values must stay few: ``flow`` is a flow name, ``command`` the AGI verb
(``STREAM FILE``, never the full line), ``channel`` sms|whatsapp|email|webhook,
``reason`` a short code, ``team`` a queue name.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.utils import floatToGoString

from agi_callbot import __version__

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)

#: command turnaround: sub-millisecond for NOOP/SET VARIABLE up to minutes for a queue
COMMAND_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
)  # fmt: skip
RENDER_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0)
#: how long one scrape waits for each collector callback
COLLECTOR_TIMEOUT_S = 2.0

build_info = Info("callbot_build", "agi-callbot version running", registry=REGISTRY)
build_info.info({"version": __version__})

calls_active = Gauge("callbot_calls_active", "Calls being handled now", ["flow"], registry=REGISTRY)
calls_total = Counter(
    "callbot_calls",
    "Calls ended, by flow and outcome (CALLBOT_STATUS)",
    ["flow", "outcome"],
    registry=REGISTRY,
)


class _VerbSeconds:
    """One verb's turnaround counts: one per bucket (the last is +Inf) and their sum."""

    __slots__ = ("counts", "created", "sum")

    def __init__(self, buckets: int) -> None:
        self.counts = [0] * (buckets + 1)
        self.sum = 0.0
        self.created = time.time()

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(COMMAND_BUCKETS, seconds)] += 1
        self.sum += seconds


class CommandSeconds:
    """``callbot_agi_command_seconds``: the histogram every AGI command is observed in.

    The same samples as a prometheus-client ``Histogram`` with a ``command`` label
    (buckets, count, sum, created), built at scrape time from plain counters: an
    observation is a bisect and two additions on the event loop, where the library's
    costs a lock per bucket update and a loop over the bounds (about 2 µs, every
    command of every call). ``le`` is the same "amount <= bound" as the library's."""

    name = "callbot_agi_command_seconds"
    documentation = "Time from sending an AGI command to its reply"

    def __init__(self, registry: CollectorRegistry) -> None:
        self._children: dict[str, _VerbSeconds] = {}
        self._bounds = [*(floatToGoString(b) for b in COMMAND_BUCKETS), "+Inf"]
        registry.register(self)

    def labels(self, command: str) -> _VerbSeconds:
        child = self._children.get(command)
        if child is None:
            child = self._children.setdefault(command, _VerbSeconds(len(COMMAND_BUCKETS)))
        return child

    def describe(self) -> Iterator[Metric]:
        yield Metric(self.name, self.documentation, "histogram")

    def collect(self) -> Iterator[Metric]:
        family = Metric(self.name, self.documentation, "histogram")
        created = []
        for verb, child in list(self._children.items()):
            counts, total = list(child.counts), child.sum
            cumulative = 0
            for bound, count in zip(self._bounds, counts, strict=True):
                cumulative += count
                family.add_sample(
                    f"{self.name}_bucket", {"command": verb, "le": bound}, float(cumulative)
                )
            family.add_sample(f"{self.name}_count", {"command": verb}, float(cumulative))
            family.add_sample(f"{self.name}_sum", {"command": verb}, total)
            created.append((verb, child.created))
        for verb, when in created:
            family.add_sample(f"{self.name}_created", {"command": verb}, when)
        yield family


agi_command_seconds = CommandSeconds(REGISTRY)
prompt_cache_hits = Counter(
    "callbot_prompt_cache_hits", "Prompts found in the cache", registry=REGISTRY
)
prompt_cache_misses = Counter(
    "callbot_prompt_cache_misses", "Prompts rendered while a caller waited", registry=REGISTRY
)
prompt_render_seconds = Histogram(
    "callbot_prompt_render_seconds",
    "Time to render a prompt (text to delivered format)",
    buckets=RENDER_BUCKETS,
    registry=REGISTRY,
)
prompt_fallbacks_total = Counter(
    "callbot_prompt_fallbacks",
    "Prompts a live call heard from a later engine: this one was over tts.live_budget",
    ["engine"],
    registry=REGISTRY,
)
tts_requests_total = Counter(
    "callbot_tts_requests",
    "Requests to a text-to-speech provider, by outcome (ok, auth, quota, rate, "
    "bad_request, server, timeout, network)",
    ["provider", "outcome"],
    registry=REGISTRY,
)
tts_breaker_state = Gauge(
    "callbot_tts_breaker_state",
    "A provider's circuit breaker: 0 closed, 1 half-open (one trial request), "
    "2 open (its prompts go to the next engine)",
    ["provider"],
    registry=REGISTRY,
)
tts_breaker_trips_total = Counter(
    "callbot_tts_breaker_trips",
    "Times a provider's circuit breaker opened",
    ["provider"],
    registry=REGISTRY,
)
outbox_depth = Gauge(
    "callbot_outbox_depth", "Messages in the outbox by status", ["status"], registry=REGISTRY
)
outbox_oldest_age_seconds = Gauge(
    "callbot_outbox_oldest_age_seconds",
    "Age of the oldest message still waiting to be sent",
    registry=REGISTRY,
)
outbox_sent_total = Counter(
    "callbot_outbox_sent", "Messages delivered, by channel", ["channel"], registry=REGISTRY
)
outbox_failed_total = Counter(
    "callbot_outbox_failed",
    "Delivery attempts that failed, by channel and reason",
    ["channel", "reason"],
    registry=REGISTRY,
)
ami_connected = Gauge(
    "callbot_ami_connected", "1 when the AMI session is logged in", registry=REGISTRY
)
transfer_wait_seconds = Histogram(
    "callbot_transfer_wait_seconds",
    "How long a caller waited in a team's queue: until an agent answered or the queue gave up",
    ["team", "answered"],
    buckets=(1.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0),
    registry=REGISTRY,
)
queue_available = Gauge(
    "callbot_queue_available", "Agents available in a team's queue", ["team"], registry=REGISTRY
)
connections_refused_total = Counter(
    "callbot_connections_refused",
    "FastAGI connections refused or cut, by reason",
    ["reason"],
    registry=REGISTRY,
)
collector_errors_total = Counter(
    "callbot_metrics_collector_errors",
    "Scrape-time collector callbacks that failed or ran out of time",
    registry=REGISTRY,
)

Collector = Callable[[], Awaitable[None] | None]
_collectors: list[Collector] = []


def add_collector(fn: Collector) -> Callable[[], None]:
    """Run ``fn`` (sync or async) before every scrape to set gauges; returns the remover.

    The outbox registers one that reads its depth and oldest age, the AMI client one that
    sets ``ami_connected`` and ``queue_available``. Remove it on shutdown.
    """
    _collectors.append(fn)

    def remove() -> None:
        if fn in _collectors:
            _collectors.remove(fn)

    return remove


async def refresh(timeout: float = COLLECTOR_TIMEOUT_S) -> None:
    """Run every collector callback, each under ``timeout``; failures are logged, not raised."""
    for fn in list(_collectors):
        name = getattr(fn, "__qualname__", repr(fn))
        try:
            result = fn()
            if inspect.isawaitable(result):
                await asyncio.wait_for(result, timeout)
        except TimeoutError:
            collector_errors_total.inc()
            log.warning("metrics collector %s took longer than %.1fs; figures stale", name, timeout)
        except Exception:
            collector_errors_total.inc()
            log.exception("metrics collector %s failed", name)


def exposition(accept: str = "") -> tuple[bytes, str]:
    """The registry in the text format the scraper asked for: (body, content type)."""
    encoder, content_type = choose_encoder(accept)
    return encoder(REGISTRY), content_type


@contextmanager
def timed_command(command: str) -> Iterator[None]:
    """Observe one AGI command's turnaround under its verb (``with timed_command("NOOP"):``)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        agi_command_seconds.labels(command=command).observe(time.perf_counter() - start)


#: the histogram's child per command class (raw lines: per verb)
_command_children: dict[object, _VerbSeconds] = {}


def observe_command(command: object, reply: object, seconds: float) -> None:
    """The Channel's ``observer`` hook: one turnaround under the command's verb.

    ``FastAGIServer(handler, listen, observer=metrics.observe_command)``. A raw line is
    filed under its first word so a typo cannot create a label per line.
    """
    kind = type(command)
    child = _command_children.get(kind)
    if child is None:
        verb = getattr(command, "verb", "") or getattr(command, "verb_text", "") or "RAW"
        child = agi_command_seconds.labels(command=verb)
        if verb == getattr(kind, "verb", None) and len(_command_children) < 64:
            _command_children[kind] = child  # the class names its verb: the same every time
    child.observe(seconds)


def refused(reason: str) -> None:
    """The FastAGI server's ``on_refused`` hook (``max_calls``, ``env_timeout``…)."""
    connections_refused_total.labels(reason=reason).inc()


@dataclass
class CallTracker:
    """A call in ``calls_active``; its ``outcome`` is counted in ``calls_total`` at the end."""

    flow: str
    outcome: str = "FAILED"


@contextmanager
def track_call(flow: str) -> Iterator[CallTracker]:
    """Count a call as active for the block; set ``tracker.outcome`` to its CALLBOT_STATUS.

    A call that leaves the block without an outcome counts as ``FAILED``, as the
    dialplan would see it.
    """
    tracker = CallTracker(flow)
    gauge = calls_active.labels(flow=flow)
    gauge.inc()
    try:
        yield tracker
    finally:
        gauge.dec()
        calls_total.labels(flow=flow, outcome=tracker.outcome).inc()
