"""The ``agi-callbot`` command. Each module of this package adds its sub-commands with
``register(subparsers)``, through :func:`command` so every one has a one-line summary,
a description and examples (``tests/docs`` checks it)."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

from agi_callbot import __version__
from agi_callbot.errors import CallbotError, ConfigError

#: the order commands are listed in ``--help``: running a node, flows, after the calls
ORDER = (
    "init", "serve", "doctor", "settings", "flows", "sim", "calls", "outbox", "prompts", "sounds"
)  # fmt: skip


def command_modules() -> list[str]:
    """Every module of this package: each defines ``register(subparsers)`` adding its
    sub-commands; a handler is stored as ``func`` and returns the exit code."""
    names = [info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")]
    names.sort(key=lambda name: (ORDER.index(name) if name in ORDER else len(ORDER), name))
    return [f"{__name__}.{name}" for name in names]


DESCRIPTION = """\
A callbot engine for Asterisk. Your dialplan hands a call over with
AGI(agi://host:4573/<flow>); the node runs the YAML flow <flows_dir>/<flow>.yaml:
prompts, menus, transfers to a team's queue or an agent, and SMS/WhatsApp/e-mail/
webhooks after the call through a durable outbox. It sets CALLBOT_STATUS for the
dialplan (COMPLETED, TRANSFERRED, HANGUP, NO_AGENT, FAILED)."""

EPILOG = """\
settings: --config FILE, else CALLBOT_CONFIG, else ./callbot.yaml if there is one; then
CALLBOT_* environment variables (CALLBOT_LISTEN__PORT=4600). Without a file: the embedded
defaults. agi-callbot settings shows the result.
Every command has its own help: agi-callbot COMMAND --help

examples:
  agi-callbot --config /etc/agi-callbot/callbot.yaml serve
  agi-callbot --config callbot.yaml validate flows/
  agi-callbot --config callbot.yaml simulate soporte --dtmf "wait:3,1"
  agi-callbot --config callbot.yaml doctor

reference: docs/flows.md (flow format), docs/settings.md (every setting),
docs/tests.md (flow test cases) in the source tree."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and examples keep their line breaks."""


def command(
    subparsers: Any, name: str, summary: str, description: str, examples: str
) -> argparse.ArgumentParser:
    """Add sub-command ``name``: ``summary`` in the list of commands, ``description`` at
    the top of its help, ``examples`` (one command per line) at the bottom."""
    lines = "\n".join(f"  {line}" if line else "" for line in examples.strip().splitlines())
    paragraphs = [textwrap.fill(" ".join(p.split()), 88) for p in description.split("\n\n")]
    return subparsers.add_parser(
        name,
        help=summary,
        description="\n\n".join(paragraphs),
        epilog=f"examples:\n{lines}",
        formatter_class=HelpFormatter,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agi-callbot", description=DESCRIPTION, epilog=EPILOG, formatter_class=HelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"agi-callbot {__version__}")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="settings file (default: $CALLBOT_CONFIG, else ./callbot.yaml if there is one)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name in command_modules():
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except ConfigError as exc:  # the settings cannot work: the admin's to fix, no traceback
        print(f"agi-callbot: {exc}", file=sys.stderr)
        return 2
    except CallbotError as exc:
        print(f"agi-callbot: {exc}", file=sys.stderr)
        return 1
