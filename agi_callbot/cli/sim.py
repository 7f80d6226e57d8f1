"""``agi-callbot simulate FLOW`` (one scripted call, told as a conversation) and
``agi-callbot test PATH…`` (flow test cases, pass/fail with a diff)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from agi_callbot.cli import command
from agi_callbot.config import Settings, load_settings
from agi_callbot.errors import FlowError
from agi_callbot.flow.loader import FlowLibrary
from agi_callbot.router import pin
from agi_callbot.sim.cases import find_case_files, load_cases, run_case
from agi_callbot.sim.simulate import Scenario, Transcript, simulate


def register(subparsers: Any) -> None:
    p = command(
        subparsers,
        "simulate",
        "one pretend call through a flow, told as a conversation (nothing is sent)",
        """\
Run FLOW once against an in-memory Asterisk that answers as Asterisk 22 does, with
the real flow engine and prompts, and print the call: what the bot said, what the
caller pressed, transfers, messages, the final CALLBOT_STATUS and the blocks it went
through. Nothing leaves the machine and nothing is kept: no call is recorded and no
message is queued for sending (messages stop at "queued" in a throw-away outbox).
Prompts rendered here are cached, ready for real calls. Write what you see into a
*.test.yaml case to keep it (agi-callbot test).

Caller script (--dtmf): keys (1 * #, or several typed together: 4321#) pressed when the
flow next listens, wait:N to stay silent N seconds from there, hangup to hang up there.""",
        """\
agi-callbot --config callbot.yaml simulate soporte --dtmf "wait:3,2,wait:3,1"
agi-callbot --config callbot.yaml simulate soporte --dtmf 1 --queue ventas=timeout
agi-callbot --config callbot.yaml simulate soporte --dtmf 1 --available ventas=0
agi-callbot --config callbot.yaml simulate demo --at 2026-12-25T10:00:00+01:00
agi-callbot --config callbot.yaml simulate flows/new.yaml --caller "" --commands""",
    )
    p.add_argument("flow", metavar="FLOW", help="flow name (under flows_dir) or file")
    p.add_argument(
        "--dtmf", default="", help='what the caller does: "1,wait:6,4321#,hangup" (default: silent)'
    )
    p.add_argument(
        "--caller",
        default="+34600000000",
        help="caller number; '' for a withheld one (default: +34600000000)",
    )
    p.add_argument("--caller-name", default="Test Caller", help="(default: Test Caller)")
    p.add_argument("--hangup-at", type=int, metavar="N", help="caller hangs up at command N")
    p.add_argument(
        "--queue",
        action="append",
        default=[],
        metavar="TEAM=OUTCOME",
        help="how TEAM's queue ends: answer, timeout, full, joinempty, leaveempty, continue, "
        "hangup (default: timeout)",
    )
    p.add_argument(
        "--dial",
        action="append",
        default=[],
        metavar="AGENT=STATUS",
        help="how a dial ends: ANSWER, BUSY, NOANSWER, CHANUNAVAIL, CONGESTION, HANGUP "
        "(default: NOANSWER)",
    )
    p.add_argument(
        "--available",
        action="append",
        default=[],
        metavar="TEAM=N",
        help="what AMI says: N agents free in TEAM (default: AMI unknown)",
    )
    p.add_argument(
        "--optin",
        action="append",
        default=[],
        metavar="CHANNEL",
        help="the caller already consented to CHANNEL (e.g. whatsapp)",
    )
    p.add_argument("--at", help="time of the call, ISO 8601, for hours blocks (default: now)")
    p.add_argument(
        "--query", default="", help='the AGI URL\'s query, e.g. "language=en&x=1" (default: none)'
    )
    p.add_argument("--commands", action="store_true", help="also print the AGI commands sent")
    p.add_argument("--json", action="store_true", help="the whole transcript as JSON")
    p.set_defaults(func=cmd_simulate)

    p = command(
        subparsers,
        "test",
        "run flow test cases (*.test.yaml): scripted calls and what must come out",
        """\
Run each case of the test files as a simulated call (see simulate) and check what
it expects: status, path of blocks, what was said, transfers, messages, AGI commands.
A failing case prints a diff of expected and actual values; the exit status is 1 when
any case fails. The format is described in docs/tests.md.""",
        """\
agi-callbot --config callbot.yaml test flows/
agi-callbot --config callbot.yaml test -v flows/soporte.test.yaml""",
    )
    p.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH", help="case files, or folders to search"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="print passing cases too")
    p.set_defaults(func=cmd_test)


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise FlowError(f"{what}: expected NAME=VALUE, got {item!r}")
        out[key] = value
    return out


def resolve_flow(settings: Settings, flow: str) -> tuple[Any, dict[str, Any]]:
    """A flow name under ``flows_dir``, or a file (its folder is the library then)."""
    path = Path(flow)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        path = path.resolve()
        root = settings.flows_dir.resolve()
        if root not in path.parents:
            root = path.parent
        library = FlowLibrary(
            root, defaults=settings.defaults, max_steps=settings.flows.max_steps, settings=settings
        )
        return pin(library, path.relative_to(root).with_suffix("").as_posix())
    return pin(FlowLibrary.from_settings(settings), flow)


def cmd_simulate(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    settings = load_settings(args.config)
    flow, subflows = resolve_flow(settings, args.flow)
    try:
        teams = {k: int(v) for k, v in _pairs(args.available, "--available").items()}
    except ValueError:
        raise FlowError("--available: N must be a whole number") from None
    scenario = Scenario(
        caller=args.caller,
        caller_name=args.caller_name,
        dtmf=args.dtmf,
        queues=_pairs(args.queue, "--queue"),
        dial=_pairs(args.dial, "--dial"),
        teams=teams,
        optins=tuple(args.optin),
        at=args.at,
        hangup_at=args.hangup_at,
        query=args.query,
    )
    try:
        scenario.timestamp()
    except ValueError as exc:
        raise FlowError(f"--at: {exc}") from None
    try:
        transcript = asyncio.run(simulate(flow, scenario, settings, subflows=subflows))
    except ValueError as exc:  # a bad caller script
        raise FlowError(f"--dtmf: {exc}") from None
    if args.json:
        print(
            json.dumps(as_json(flow, transcript), ensure_ascii=False, indent=2, default=str),
            file=out,
        )
    else:
        print_conversation(flow, transcript, out)
        if args.commands:
            print("AGI commands:", file=out)
            for number, line in enumerate(transcript.commands, start=1):
                print(f"  {number:3d}  {line}", file=out)
    return 0


def as_json(flow: Any, t: Transcript) -> dict[str, Any]:
    return {
        "flow": flow.name,
        "version": flow.version,
        "status": t.status,
        "result": t.result.result,
        "path": t.result.path,
        "events": t.result.events,
        "messages": t.messages,
        "transfers": t.result.record["transfers"],
        "commands": t.commands,
        "variables": t.variables,
        "hung_up_by": t.hung_up_by,
        "unused_dtmf": t.unused_dtmf,
        "error": t.result.error,
    }


def print_conversation(flow: Any, t: Transcript, out: TextIO) -> None:
    """The call as a person reads it: bot lines, caller presses, side effects, outcome."""
    print(f"{flow.name} (version {flow.version})", file=out)
    stored = {m["key"]: m for m in t.messages}
    for event in t.result.events:
        if event["event"] == "message":
            message = stored.get(event["key"], {})
            reason = f": {message['reason']}" if message.get("reason") else ""
            line = (
                f"message   {event['channel']} to {event['to'] or '(nobody)'} "
                f"{message.get('status', '?')}{reason}  [{event['block']}]"
            )
        else:
            line = describe(event)
        if line:
            print(f"  {line}", file=out)
    if t.unused_dtmf:
        print(f"  (caller script not used: {','.join(t.unused_dtmf)})", file=out)
    status = f"{t.status}" + (f" ({t.result.result})" if t.result.result else "")
    print(f"status: {status}   hung up by: {t.hung_up_by or 'nobody (returned)'}", file=out)
    print(f"path:   {' > '.join(t.result.path)}", file=out)
    if t.result.error:
        print(f"error:  {t.result.error}", file=out)
    print(
        "(simulated: no call was recorded and nothing was sent; the messages marked "
        "queued went to a throw-away outbox)",
        file=out,
    )


#: events told by a line of their fields as they are
_PLAIN = {
    "say": "bot       {text}",
    "transfer": "transfer  {kind} {target}",
    "hours": "hours     {state} → {goto}",
    "branch": "branch    {condition} → {goto}",
    "subflow": "subflow   {flow}",
    "error": "error     {error}",
}


def describe(event: dict[str, Any]) -> str:
    kind = event["event"]
    if kind in _PLAIN:
        return _PLAIN[kind].format_map(event)
    if kind == "menu":
        entered = event["entered"] or "(nothing)"
        return f"caller    {entered}  → {event['outcome']}"
    if kind == "digits":
        valid = "" if event["valid"] else "  (not valid)"
        return f"caller    {event['digits'] or '(nothing)'}{valid}"
    if kind == "transfer_result":
        waited = f" after {event['wait_s']:g} s" if "wait_s" in event else ""
        return f"          {event['target']}: {event['outcome']}{waited}"
    if kind == "optin":
        return f"opt-in    {event['channel']} {'recorded' if event['recorded'] else 'not recorded'}"
    if kind == "webhook":
        return f"webhook   {event['url']} → {'ok' if event['ok'] else event.get('error')}"
    if kind in ("action_failed", "action_skipped"):
        why = event.get("reason") or event.get("error")
        return f"action    {event['kind']} {kind.split('_')[1]}: {why}"
    return ""


def cmd_test(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    settings = load_settings(args.config)
    files = find_case_files(args.paths)
    if not files:
        raise FlowError("no test cases found (files named *.test.yaml)")
    passed = failed = 0
    for file in files:
        for case in load_cases(file):
            result = asyncio.run(run_case(case, settings))
            if result.passed:
                passed += 1
                if args.verbose:
                    print(f"PASS {file}: {case.name}", file=out)
                continue
            failed += 1
            print(f"FAIL {file}: {case.name}", file=out)
            for failure in result.failures:
                print(f"  {failure}", file=out)
    print(f"{passed} passed, {failed} failed", file=out)
    return 1 if failed else 0
