"""``agi-callbot doctor``: check a deployment from the callbot's side, print one table.

Each row is a check an admin can act on: the settings load, the flows validate, the
data folder (call records, outbox, prompt cache) is writable, Asterisk's user can read
the prompts (``prompts.delivery: local`` with Asterisk on this host), sox and espeak-ng run,
AMI answers and accepts the login, every queue and music-on-hold class the flows
name exists on the Asterisk, and each message channel is configured or in dry-run.
Exit status 1 when any row failed, so it fits a deploy script or a container probe.

Queues are asked over AMI (``QueueStatus``: a queue exists iff ``QueueParams``
comes back — an unknown queue is not an AMI error). MOH classes need the CLI command
``moh show classes``, which the AMI user may only run with ``write = command``;
without it the row says "not checked". ``--asterisk-conf DIR`` also checks a copy of
the Asterisk configuration files without AMI: queues.conf, musiconhold.conf, and the
PJSIP endpoints of agent transfers in pjsip.conf.

The checks by area: :mod:`.node` (flows, folders, tools, TTS, gateways) and
:mod:`.asterisk` (AMI, queues, MOH classes, configuration files); :mod:`.report`
prints the table.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from agi_callbot.cli import command
from agi_callbot.cli.doctor.asterisk import check_asterisk, check_conf_files
from agi_callbot.cli.doctor.node import (
    check_data_dir,
    check_flows,
    check_gateways,
    check_moh_dir,
    check_prompt_access,
    check_tools,
    check_tts,
)
from agi_callbot.cli.doctor.report import FAIL, OK, Check, report
from agi_callbot.config import Settings, load_settings
from agi_callbot.errors import ConfigError


def register(subparsers: Any) -> None:
    p = command(
        subparsers,
        "doctor",
        "check a deployment: settings, flows, folders, tools, gateways, AMI, queues, MOH",
        """\
Check this node's deployment and print one table, one row per thing an admin can fix:
the settings load; the flows validate; data_dir is writable; Asterisk's user can read
the cached prompts (prompts.delivery local, Asterisk on this host); sox and
espeak-ng run; each message channel's provider (or dry-run); the AMI login; every
queue and music-on-hold class the flows name exists on the Asterisk (over AMI), and
with --asterisk-conf, in a copy of its configuration files. Exit status 1 when a row
failed: fit for a deploy script or a container probe.""",
        """\
agi-callbot --config /etc/agi-callbot/callbot.yaml doctor
agi-callbot --config callbot.yaml doctor --asterisk-conf /etc/asterisk
agi-callbot --config callbot.yaml doctor --json | jq 'select(.status == "FAIL")'""",
    )
    p.add_argument(
        "--timeout", type=float, default=5.0, help="seconds to wait for AMI (default: 5)"
    )
    p.add_argument(
        "--asterisk-conf",
        type=Path,
        metavar="DIR",
        help="also check queues.conf, musiconhold.conf and pjsip.conf in this folder",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per check")
    p.add_argument(
        "--no-tts-probe",
        dest="tts_probe",
        action="store_false",
        help="do not ask the TTS providers for a one-word test synthesis (default: ask)",
    )
    p.set_defaults(func=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        checks = [Check("config", FAIL, str(exc))]
    else:
        where = str(settings.source) if settings.source else "embedded defaults + environment"
        checks = [Check("config", OK, where)]
        checks += asyncio.run(
            diagnose(
                settings,
                timeout=args.timeout,
                asterisk_conf=args.asterisk_conf,
                tts_probe=args.tts_probe,
            )
        )
    report(checks, sys.stdout, as_json=args.json)
    return 1 if any(c.status == FAIL for c in checks) else 0


async def diagnose(
    settings: Settings,
    *,
    timeout: float = 5.0,
    asterisk_conf: Path | None = None,
    tts_probe: bool = True,
) -> list[Check]:
    """Every check after the settings loaded, in table order."""
    flows_check, refs = check_flows(settings)
    checks = [flows_check, check_data_dir(settings), *check_prompt_access(settings)]
    checks += check_tools(settings)
    checks += await check_tts(settings, refs, probe=tts_probe)
    checks += check_moh_dir(settings, refs)
    checks += check_gateways(settings)
    checks += await check_asterisk(settings, refs, timeout)
    if asterisk_conf is not None:
        checks += check_conf_files(asterisk_conf, refs)
    return checks
