"""``agi-callbot calls [--last N] [--flow F] [--status S] [--json]``: recent calls, newest first."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from typing import Any, TextIO

from agi_callbot.cli import command
from agi_callbot.config import load_settings
from agi_callbot.phone import mask_number
from agi_callbot.records import CallRecords


def register(subparsers: Any) -> None:
    p = command(
        subparsers,
        "calls",
        "recent calls: when, flow, caller, how it ended, the blocks, transfers, messages",
        """\
List the calls this node recorded (data_dir/calls.sqlite), newest first, one line
each: start time, flow@version, caller (masked unless log.full_numbers or
--full-numbers), CALLBOT_STATUS, duration, the blocks it went through, then transfers,
messages queued and the error if any. --json prints every field of each record.""",
        """\
agi-callbot --config callbot.yaml calls
agi-callbot --config callbot.yaml calls --last 100 --status NO_AGENT
agi-callbot --config callbot.yaml calls --flow soporte --json | jq .path""",
    )
    p.add_argument("--last", type=_positive, default=20, metavar="N", help="how many (default: 20)")
    p.add_argument("--flow", help="only calls of this flow")
    p.add_argument(
        "--status",
        type=str.upper,
        help="only calls that ended so: COMPLETED, TRANSFERRED, HANGUP, NO_AGENT or FAILED",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--full-numbers", action="store_true", help="show callers' numbers unmasked")
    p.set_defaults(func=cmd_calls)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def cmd_calls(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    settings = load_settings(args.config)
    full = args.full_numbers or settings.log.full_numbers
    if not settings.calls_db.exists():
        print(f"no calls yet ({settings.calls_db} does not exist)", file=sys.stderr)
        return 0
    records = asyncio.run(_last(settings.calls_db, args.last, args.flow, args.status))
    if not records:
        only = [f"{k} {v}" for k, v in (("flow", args.flow), ("status", args.status)) if v]
        what = f"no calls with {' and '.join(only)}" if only else "no calls yet"
        print(f"{what} ({settings.calls_db})", file=sys.stderr)
    for record in records:
        if not full:
            record["caller"] = mask_number(record.get("caller", ""))
        if args.json:
            print(json.dumps(record, ensure_ascii=False, default=str), file=out)
        else:
            print(format_record(record), file=out)
    return 0


async def _last(path: Any, n: int, flow: str | None, status: str | None) -> list[dict[str, Any]]:
    records = CallRecords(path)
    await records.open()
    try:
        return await records.last(n, flow=flow, status=status)
    finally:
        await records.aclose()


def _transfer(transfer: dict[str, Any]) -> str:
    """``sales=ANSWER`` and, for a team, the caller's wait: ``sales=ANSWER (waited 12.3s)``."""
    text = f"{transfer.get('target')}={transfer.get('outcome')}"
    if transfer.get("wait_s") is not None:
        text += f" (waited {float(transfer['wait_s']):.1f}s)"
    return text


def format_record(record: dict[str, Any]) -> str:
    """One line per call: when, flow@version, caller, status, duration, path, side effects."""
    started = datetime.fromtimestamp(float(record.get("started") or 0)).strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    flow = record.get("flow") or "?"
    if record.get("version"):
        flow = f"{flow}@{record['version']}"
    parts = [
        started,
        flow,
        record.get("caller") or record.get("caller_problem") or "anonymous",
        record.get("status") or "?",
        f"{float(record.get('duration') or 0):.1f}s",
        " > ".join(record.get("path") or []) or "-",
    ]
    transfers = record.get("transfers") or []
    if transfers:
        parts.append("transfers: " + ", ".join(_transfer(t) for t in transfers))
    messages = record.get("messages") or []
    if messages:
        parts.append("messages: " + ", ".join(str(m.get("channel")) for m in messages))
    if record.get("error"):
        parts.append(f"error: {record['error']}")
    return "  ".join(parts)
