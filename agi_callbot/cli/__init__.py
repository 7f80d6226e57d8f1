"""The ``agi-callbot`` command: one sub-command module per concern, each with ``register()``."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from agi_callbot import __version__
from agi_callbot.errors import CallbotError


def command_modules() -> list[str]:
    """Every module of this package: each defines ``register(subparsers)`` adding its
    sub-commands; a handler is stored as ``func`` and returns the exit code."""
    return sorted(
        f"{__name__}.{info.name}"
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_")
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agi-callbot", description=__doc__)
    parser.add_argument("--version", action="version", version=f"agi-callbot {__version__}")
    parser.add_argument("--config", help="settings file (or CALLBOT_CONFIG)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
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
    except CallbotError as exc:
        print(f"agi-callbot: {exc}", file=sys.stderr)
        return 1
