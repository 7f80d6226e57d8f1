"""What the live queues cost the node: AMI events of queued calls, read and applied.

One queued call (transcript 03: the member does not answer, then answers, talks, hangs
up) sends the node its queue events; the node's session asks only for the ``system``
and ``agent`` classes. This feeds those events, as bytes, to panoramisk's protocol (the
framing the node uses) for ``--calls`` calls and measures:

1. parse: framing and messages only (the events dispatched nowhere) — the baseline;
2. parse + model: each event applied to :class:`QueueState` as the node does;
3. ``Events: on`` for comparison: every event 03 shows (not even its 85 trimmed
   ``VarSet`` and 18 ``Newexten``), parsed only.

Printed: microseconds per queued call for each, the model's ratio to the parse alone,
and the events per second one core keeps up with.

    python benchmarks/queue_events.py [--calls 20000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from panoramisk.ami_protocol import AMIProtocol

from agi_callbot.asterisk.queue_state import QueueState

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "asterisk"))
from fake_ami_events import recorded_events  # the tests' transcript reader


class Transport:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


class Factory:
    def __init__(self, apply) -> None:
        self.apply = apply
        self.count = 0

    def dispatch(self, message) -> None:
        self.count += 1
        self.apply(message)


def wire(events: list[list[str]]) -> bytes:
    return "".join("\r\n".join(lines) + "\r\n\r\n" for lines in events).encode()


def run(data: bytes, calls: int, apply) -> tuple[float, int]:
    protocol = AMIProtocol()
    protocol.connection_made(Transport())
    protocol.factory = factory = Factory(apply)
    started = time.perf_counter()
    for _ in range(calls):
        protocol.data_received(data)
    return time.perf_counter() - started, factory.count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    shown = recorded_events("03-queue-call-events")
    queue = [e for e in shown if e[1].split(": ", 1)[-1].split(",")[0] in ("agent", "system")]
    known = QueueState()
    known.seed([_params("ami-flow")])

    base, n = run(wire(queue), args.calls, lambda m: None)
    model, _ = run(wire(queue), args.calls, known.apply)
    everything, m = run(wire(shown), args.calls, lambda m: None)
    per = 1e6 / args.calls
    print(f"one queued call: {n // args.calls} system/agent events, {m // args.calls} shown in 03")
    print(f"parse (baseline)     {base * per:7.1f} us per call")
    print(f"parse + live model   {model * per:7.1f} us per call   ratio {model / base:.2f}")
    print(
        f"Events: on (parse)   {everything * per:7.1f} us per call   ratio {everything / base:.2f}"
    )
    print(
        f"one core keeps up with {n / model:,.0f} queue events/s"
        f" ({args.calls / model:,.0f} queued calls/s)"
    )
    assert known.board()["ami-flow"]["members"], "the events moved the model"


def _params(queue: str):
    from panoramisk.message import Message

    return Message({"Event": "QueueParams", "Queue": queue})


if __name__ == "__main__":
    main()
