"""``agi-callbot outbox list|retry|purge|work``: look into the message queue, and run its workers.

``outbox work`` runs the delivery workers alone, for classic-AGI installs where no
server process exists (run it as a systemd service); SIGTERM or SIGINT stops it after
the sends in flight finish (``outbox.send_timeout`` at most), leases given back.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from agi_callbot.cli import command
from agi_callbot.config import Settings, load_settings, parse_duration
from agi_callbot.errors import CallbotError
from agi_callbot.log import setup_logging
from agi_callbot.outbox.model import STATUSES, StoredMessage
from agi_callbot.outbox.service import Outbox
from agi_callbot.outbox.store import PURGEABLE_STATUSES
from agi_callbot.phone import mask_number

T = TypeVar("T")
log = logging.getLogger("agi_callbot.outbox")


def register(subparsers: Any) -> None:
    outbox = command(
        subparsers,
        "outbox",
        "the messages calls queued: list, retry, purge; run the delivery workers",
        """\
Every SMS, WhatsApp, e-mail and webhook a flow asks for is stored in the outbox first
(outbox.store) and delivered by workers, with retries, so a caller never waits for a
provider and no message is lost when one is down. A message is queued, sending, sent,
failed (the provider refused it for good), dead (every attempt failed) or skipped (a
rule forbids it: anonymous caller, no opt-in), and the reason is kept.""",
        """\
agi-callbot --config callbot.yaml outbox list --status failed
agi-callbot --config callbot.yaml outbox retry --all-failed
agi-callbot --config callbot.yaml outbox purge --older-than 30d""",
    )
    actions = outbox.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = command(
        actions,
        "list",
        "messages, newest first, with their state and reason",
        "List messages newest first: id, when, channel, recipient (masked), state, attempts "
        "and the last reason (a provider's error, a rule).",
        """\
agi-callbot outbox list
agi-callbot outbox list --status skipped --limit 200
agi-callbot outbox list --call 1733312345.42 --json""",
    )
    p.add_argument("--status", choices=STATUSES, help="only messages in this state")
    p.add_argument("--limit", type=_positive, default=50, help="at most N messages (default: 50)")
    p.add_argument("--call", metavar="UNIQUEID", help="only the messages of this call")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=cmd_list)

    p = command(
        actions,
        "retry",
        "queue failed or dead messages again",
        "Put messages back in the queue after fixing what failed (a provider's credentials, "
        "a template approval): they get a fresh set of attempts.",
        """\
agi-callbot outbox retry 0193a1b2c3d4e5f60718 0193a1b2c3d4e5f60719
agi-callbot outbox retry --all-failed""",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("ids", nargs="*", default=[], metavar="ID", help="message ids")
    which.add_argument("--all-failed", action="store_true", help="every failed and dead message")
    p.set_defaults(func=cmd_retry)

    p = command(
        actions,
        "purge",
        "delete old finished messages",
        "Delete messages whose last change is older than --older-than, in the given states "
        "(by default only finished ones: sent, failed, dead, skipped; queued ones stay). "
        "Run it from cron to keep the store small.",
        """\
agi-callbot outbox purge --older-than 30d
agi-callbot outbox purge --older-than 12h --status skipped""",
    )
    p.add_argument(
        "--older-than", type=_age, required=True, help="last change older than this (30d, 12h)"
    )
    p.add_argument(
        "--status",
        action="append",
        choices=STATUSES,
        help=f"only this state (repeatable; default: {', '.join(PURGEABLE_STATUSES)})",
    )
    p.set_defaults(func=cmd_purge)

    p = command(
        actions,
        "work",
        "run the delivery workers alone, until SIGTERM",
        "Deliver queued messages. `serve` already runs the workers; this is for classic "
        "AGI installs (agi-callbot agi), where no server process exists: run it as a "
        "service (docker/agi-callbot-outbox.service). SIGTERM stops it after the sends in "
        "flight finish.",
        """\
agi-callbot --config /etc/agi-callbot/callbot.yaml outbox work
agi-callbot outbox work --once      # what is due now, then exit""",
    )
    p.add_argument("--workers", type=_positive, help="number of workers (default: outbox.workers)")
    p.add_argument("--once", action="store_true", help="deliver what is due now, then exit")
    p.set_defaults(func=cmd_work)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def _age(text: str) -> float:
    """How old a message must be to go (``30d``, ``12h``, ``90m``)."""
    try:
        return parse_duration(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an age: {text!r} (write e.g. 30d, 12h, 90m)"
        ) from None


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def _with_outbox(
    settings: Settings, use: Callable[[Outbox], Awaitable[T]], gateways: Any = None
) -> T:
    async def run() -> T:
        outbox = Outbox.from_settings(settings, gateways or {})
        try:
            await outbox.open()
            return await use(outbox)
        except _unavailable() as exc:
            raise CallbotError(
                f"the outbox store ({outbox.store.description}) did not answer: "
                f"{str(exc) or type(exc).__name__}"
            ) from None
        finally:
            await outbox.aclose()

    return asyncio.run(run())


def _unavailable() -> tuple[type[BaseException], ...]:
    """What a store that cannot be reached raises (PostgreSQL's only if it is installed)."""
    errors: list[type[BaseException]] = [sqlite3.Error, OSError, TimeoutError]
    with contextlib.suppress(ImportError):
        import psycopg
        import psycopg_pool

        errors += [psycopg.Error, psycopg_pool.PoolTimeout]
    return tuple(errors)


def cmd_list(args: argparse.Namespace) -> int:
    settings = _settings(args)
    rows = _with_outbox(settings, lambda o: o.list(args.status, args.limit, args.call))
    show = _shower(settings)
    if args.json:
        for row in rows:
            data = row.as_dict()
            data["to"] = show(row)
            print(json.dumps(data, ensure_ascii=False, sort_keys=True))
        return 0
    if not rows:
        print("no messages" + (f" with status {args.status}" if args.status else ""))
        return 0
    print(
        f"{'ID':<20}  {'STATUS':<14} {'CHANNEL':<8} {'TO':<24} {'TRIES':>5}  "
        f"{'UPDATED':<19}  REASON"
    )
    for row in rows:
        updated = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.updated_at))
        status = f"{row.status}/{row.delivery}" if row.delivery else row.status
        print(
            f"{row.id:<20}  {status:<14} {row.channel:<8} {show(row):<24} "
            f"{row.attempts:>5}  {updated:<19}  {row.reason}"
        )
    return 0


def _shower(settings: Settings) -> Callable[[StoredMessage], str]:
    """How ``list`` prints a destination: numbers masked unless ``log.full_numbers``."""

    def show(row: StoredMessage) -> str:
        if settings.log.full_numbers or row.channel not in ("sms", "whatsapp"):
            return row.to
        return mask_number(row.to)

    return show


def cmd_retry(args: argparse.Namespace) -> int:
    settings = _settings(args)
    ids = None if args.all_failed else list(args.ids)
    done = _with_outbox(settings, lambda o: o.retry(ids))
    for id in done:
        print(f"queued again: {id}")
    missing = [] if ids is None else [i for i in ids if i not in done]
    for id in missing:
        print(f"not retried: {id} (no such message, or not failed/dead)", file=sys.stderr)
    if ids is None:
        print(f"{len(done)} messages queued again")
    return 1 if missing else 0


def cmd_purge(args: argparse.Namespace) -> int:
    settings = _settings(args)
    statuses = tuple(args.status or PURGEABLE_STATUSES)
    count = _with_outbox(settings, lambda o: o.purge(args.older_than, statuses))
    print(f"{count} messages deleted ({', '.join(statuses)}, older than {_days(args.older_than)})")
    return 0


async def _report_unreachable(gateways: dict[str, Any]) -> None:
    """Say at start-up which providers cannot be reached; messages wait for them meanwhile."""
    from agi_callbot.gateways.base import probe

    try:
        problems = await probe(gateways)
    except Exception as exc:  # a report, never a reason to stop delivering
        log.warning("outbox: could not check the providers: %s", exc)
        return
    for channel, problem in sorted(problems.items()):
        if problem:
            log.warning("outbox: the %s provider is not reachable now: %s", channel, problem)


def _days(seconds: float) -> str:
    return f"{seconds / 86400:g}d" if seconds >= 86400 else f"{seconds:g}s"


def cmd_work(args: argparse.Namespace) -> int:
    from agi_callbot.gateways import build_gateways

    settings = _settings(args)
    if args.workers:
        import dataclasses

        settings = dataclasses.replace(
            settings, outbox=dataclasses.replace(settings.outbox, workers=args.workers)
        )
    setup_logging(settings.log)
    gateways = build_gateways(settings)
    return asyncio.run(_work(settings, gateways, once=args.once))


async def _work(settings: Settings, gateways: dict[str, Any], *, once: bool) -> int:
    outbox = Outbox.from_settings(settings, gateways)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        if once:
            await outbox.open()
            while await outbox.run_once():
                pass
        else:
            await outbox.start_workers()
            print(
                f"outbox workers running ({settings.outbox.workers}) on {outbox.store.description}",
                file=sys.stderr,
                flush=True,
            )
            checks = asyncio.create_task(_report_unreachable(gateways))
            await stop.wait()
            checks.cancel()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await outbox.aclose()
        for gateway in set(gateways.values()):
            with contextlib.suppress(Exception):
                await gateway.aclose()
    return 0
