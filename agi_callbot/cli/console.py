"""``agi-callbot console-password``: the hash to put in ``console.password_hash``.

The console accepts the admin token (from the environment variable ``console.token_env``
names) or this password; only its scrypt hash is written in the settings.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from agi_callbot.cli import command
from agi_callbot.console.auth import hash_password

MIN_LENGTH = 10


def register(subparsers: Any) -> None:
    p = command(
        subparsers,
        "console-password",
        "print the hash of a console password (for console.password_hash)",
        "Ask for a password (twice; at least 10 characters) and print the settings lines "
        "that let admins log in to the designer console with it: only its scrypt hash goes "
        "into the settings. The admin token (console.token_env) keeps working too.",
        """\
agi-callbot console-password     # then paste the lines it prints into the settings file
printf '%s\\n' "$PASSWORD" | agi-callbot console-password --stdin""",
    )
    p.add_argument(
        "--stdin", action="store_true", help="read the password from standard input (no prompt)"
    )
    p.set_defaults(func=cmd_password)


def cmd_password(args: argparse.Namespace) -> int:
    if args.stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("console password: ")
        if getpass.getpass("again: ") != password:
            print("the two passwords differ", file=sys.stderr)
            return 1
    if len(password) < MIN_LENGTH:
        print(f"use at least {MIN_LENGTH} characters", file=sys.stderr)
        return 1
    print(f'console:\n  password_hash: "{hash_password(password)}"')
    return 0
