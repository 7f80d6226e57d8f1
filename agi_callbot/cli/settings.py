"""``agi-callbot settings``: the settings this node would run with, or the reference."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

import yaml

from agi_callbot import reference
from agi_callbot.cli import command
from agi_callbot.config import load_settings


def register(subparsers: Any) -> None:
    p = command(
        subparsers,
        "settings",
        "show the settings in effect (file + CALLBOT_* environment), or their reference",
        "Print the settings this node would run with: the embedded defaults, then the "
        "settings file (--config, CALLBOT_CONFIG or ./callbot.yaml), then CALLBOT_* environment "
        "variables, "
        "with every path made absolute. Secrets never appear: settings only name the "
        "environment variable that holds each one (*_env keys). With --markdown, print the "
        "reference of every setting instead (key, environment variable, type, default, "
        "meaning), as in docs/settings.md.",
        """\
agi-callbot --config /etc/agi-callbot/callbot.yaml settings
CALLBOT_LISTEN__PORT=4600 agi-callbot settings      # see an environment variable win
agi-callbot settings --markdown > settings-reference.md""",
    )
    p.add_argument(
        "--markdown", action="store_true", help="print the reference tables (docs/settings.md)"
    )
    p.set_defaults(func=cmd_settings)


def cmd_settings(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if args.markdown:
        out.write(reference.markdown())
        return 0
    settings = load_settings(args.config)
    where = settings.source or "embedded defaults + CALLBOT_* environment (no settings file)"
    out.write(f"# settings from {where}\n")
    out.write(yaml.safe_dump(reference.effective(settings), sort_keys=False, allow_unicode=True))
    return 0
