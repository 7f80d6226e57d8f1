"""``agi-callbot init DIR`` (a node folder from the kit) and ``agi-callbot kit export DIR``
(only the kit's Asterisk files, made for the node the settings describe)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any, TextIO

from agi_callbot import __version__, kit
from agi_callbot.cli import command
from agi_callbot.config import load_settings
from agi_callbot.config import secret as read_secret
from agi_callbot.kit import conf
from agi_callbot.kit.node import (
    ENV_FILE,
    Created,
    NodeOptions,
    ami_secret_of,
    check_empty,
    create,
    env_text,
)


def register(subparsers: Any) -> None:
    p = command(
        subparsers,
        "init",
        "write a node folder: settings, example flows, sounds, Asterisk files",
        f"""\
Write a working node folder from the kit, then print the next steps: callbot.yaml
(every setting listed with its default, commented), {ENV_FILE} (a fresh AMI secret,
mode 600), flows/ (the example flows with their tests), sounds/ and asterisk/ (the
kit's Asterisk files made for this node's address and ports). A non-empty folder is
refused unless --force.""",
        """\
agi-callbot init /etc/agi-callbot
agi-callbot init mynode --host 10.0.0.5 --ami-host 10.0.0.2
agi-callbot init mynode --address callbot.example:4573 --second-node callbot2.example:4573""",
    )
    p.add_argument("folder", type=Path, metavar="DIR", help="the node folder (new or empty)")
    p.add_argument("--host", help="FastAGI address the node listens on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, help="FastAGI port (default: 4573)")
    p.add_argument(
        "--http-port", type=int, help="HTTP port: prompts, health, metrics (default: 8090)"
    )
    p.add_argument("--ami-host", help="where Asterisk's AMI listens (default: 127.0.0.1)")
    p.add_argument("--ami-port", type=int, help="AMI port (default: 5038)")
    _node_arguments(p)
    p.add_argument("--force", action="store_true", help="write into a non-empty folder")
    p.set_defaults(func=cmd_init)

    p = command(
        subparsers,
        "kit",
        "the Asterisk configuration the package ships",
        "The kit's Asterisk files (dialplan with failover, queues and hold music per team, "
        "the AMI user, PJSIP agents, modules), made for a node.",
        """\
agi-callbot --config /etc/agi-callbot/callbot.yaml kit export /tmp/asterisk-files""",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = command(
        actions,
        "export",
        "write the Asterisk files for this node (settings: listen, ami)",
        "Write the kit's Asterisk configuration for the node the settings describe. "
        "The AMI secret is the node's (env_file, or the variable ami.secret_env names); "
        f"without one a fresh secret is written to DIR/{ENV_FILE}.",
        """\
agi-callbot --config /etc/agi-callbot/callbot.yaml kit export /tmp/asterisk-files
agi-callbot kit export asterisk --address 10.0.0.5:4573 --force""",
    )
    p.add_argument("folder", type=Path, metavar="DIR", help="where the .conf files go")
    _node_arguments(p)
    p.add_argument("--force", action="store_true", help="write into a non-empty folder")
    p.set_defaults(func=cmd_export)


def _node_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--address",
        default="",
        metavar="HOST:PORT",
        help="how Asterisk reaches this node (default: the FastAGI host and port)",
    )
    p.add_argument(
        "--second-node",
        default="",
        metavar="HOST:PORT",
        help="the dialplan's failover node (default: this node again)",
    )


def cmd_init(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    options = NodeOptions(
        host=args.host,
        port=args.port,
        http_port=args.http_port,
        ami_host=args.ami_host,
        ami_port=args.ami_port,
        address=args.address,
        second=args.second_node,
    )
    created = create(args.folder, options, force=args.force)
    out.write(summary(created, args.folder))
    return 0


def cmd_export(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    check_empty(args.folder, args.force)
    settings = load_settings(args.config)
    secret = ami_secret_of(settings) or read_secret(settings.ami.secret_env)
    fresh = secret is None
    secret = secret or conf.new_secret()
    node = conf.Node.from_settings(settings, secret, address=args.address, second=args.second_node)
    written = conf.write(args.folder, conf.render(kit.asterisk_conf(), node))
    for path in written:
        out.write(f"{path}\n")
    if fresh:
        env_path = args.folder / ENV_FILE
        conf.write_text(env_path, env_text(secret, settings.ami.secret_env), private=True)
        out.write(
            f"{env_path} (mode 600): a new AMI secret — give it to the node as "
            f"{settings.ami.secret_env} (settings: env_file)\n"
        )
    out.write(
        f"AGI at {node.address} (failover {node.second}), AMI user {node.ami_user} "
        f"on port {node.ami_port}; agent passwords are new: see pjsip.conf\n"
    )
    return 0


def summary(created: Created, shown: Path) -> str:
    """What was written and the three next steps, with the commands to type."""
    folder = shlex.quote(str(shown))
    node, settings = created.node, created.settings
    flows = sorted(p.stem for p in settings.flows_dir.glob("*.yaml") if ".test" not in p.name)
    return f"""\
agi-callbot {__version__}: node folder {shown}/ written ({len(created.files)} files)
  callbot.yaml  settings: every default listed, commented; the node's own values set
  {ENV_FILE:<12}  the AMI secret (mode 600), the same as in asterisk/manager.conf
  flows/        {", ".join(flows)} with their tests (agi-callbot test flows)
  sounds/       the kit's prompts (callbot/) and hold music (moh/)
  asterisk/     Asterisk files for this node: AGI at {node.address}, AMI user {node.ami_user}

Next steps:
  1. Copy the Asterisk files (merge with your own: {folder}/asterisk/README.md):
       sudo install -o asterisk -g asterisk -m 640 {folder}/asterisk/*.conf /etc/asterisk/
       sudo cp -r {folder}/sounds/callbot /var/lib/asterisk/sounds/
       sudo mkdir -p /var/lib/asterisk/moh/callbot
       sudo cp -rL {folder}/sounds/moh/. /var/lib/asterisk/moh/callbot/
       sudo asterisk -rx "core reload"
     then turn AMI on in {folder}/callbot.yaml (ami: enabled: true); agi-callbot doctor checks it.
  2. Start the node:
       cd {folder} && agi-callbot serve
  3. Dial: register a softphone as 1001 (its password is in asterisk/pjsip.conf) and
     call 100 (Spanish, soporte), 200 (English, support) or 300 (a tour of every block).
"""
