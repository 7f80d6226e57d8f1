"""Every command introduces itself: a summary, a description, defaults, examples.

A new sub-command (or option) without them fails here; add it with
``agi_callbot.cli.command(subparsers, name, summary, description, examples)``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

from agi_callbot.cli import build_parser


def commands(parser: argparse.ArgumentParser, prefix: str = "agi-callbot"):
    """(full name, summary, parser) of every sub-command, nested ones too."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            summaries = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield f"{prefix} {name}", summaries.get(name), sub
                yield from commands(sub, f"{prefix} {name}")


def test_every_command_has_a_summary_a_description_and_examples():
    found = list(commands(build_parser()))
    assert len(found) >= 20
    missing = []
    for name, summary, parser in found:
        if not summary:
            missing.append(f"{name}: no one-line summary (help=)")
        if not parser.description or len(parser.description) < 40:
            missing.append(f"{name}: no description")
        examples = (parser.epilog or "").partition("examples:\n")[2]
        if not any(word in examples for word in ("agi-callbot", "AGI(")):
            missing.append(f"{name}: no examples in its epilog")
    assert not missing, "use agi_callbot.cli.command() to add:\n" + "\n".join(missing)


def test_every_option_with_a_default_says_it():
    missing = []
    for name, _, parser in commands(build_parser()):
        for action in parser._actions:
            if not action.option_strings or action.default in (None, False, [], argparse.SUPPRESS):
                continue
            if "default" not in (action.help or ""):
                missing.append(f"{name} {action.option_strings[-1]}")
    assert not missing, f"options whose help does not show the default: {missing}"


def test_the_top_level_help_is_for_admins():
    parser = build_parser()
    text = parser.format_help()
    assert "register()" not in text and "sub-command module" not in text
    assert "CALLBOT_STATUS" in text and "agi-callbot COMMAND --help" in text
    listed = re.findall(r"^    ([a-z]+) ", text.split("commands:")[1], flags=re.M)
    assert listed.index("serve") < listed.index("validate") < listed.index("outbox")


def test_serve_help_shows_both_ports_and_the_addresses():
    text = build_parser()._subparsers._group_actions[0].choices["serve"].format_help()
    assert "default: listen.port, 4573" in text
    assert "default: http.port, 8090" in text
    assert "127.0.0.1:8090" in text and "/healthz" in text


def test_help_runs_from_the_installed_command():
    done = subprocess.run(
        [sys.executable, "-m", "agi_callbot", "simulate", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "examples:\n  agi-callbot --config callbot.yaml simulate soporte" in done.stdout
    assert "no call is recorded" in done.stdout
