"""The kit's Asterisk configuration made for one node.

The files in ``asterisk-conf/`` name the docker lab's nodes (``callbot:4573``,
``callbot2:4573``), an AMI secret and agent passwords every reader of the kit knows.
:func:`render` rewrites exactly those values for a real node — the address the
dialplan dials, the AMI port and user with a fresh secret, fresh agent passwords —
and leaves every comment and every other line as the kit has it. Lines are found
with the same reader ``doctor --asterisk-conf`` uses, so a value is changed where
Asterisk reads it, not where a comment mentions it.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path

from agi_callbot import __version__
from agi_callbot.asterisk.conf import ConfigFile, parse
from agi_callbot.config import Settings
from agi_callbot.errors import ConfigError

#: the kit's node addresses (the docker lab's service names)
KIT_NODES = ("callbot:4573", "callbot2:4573")
#: files holding a secret: written with mode 600
PRIVATE = frozenset({"manager.conf", "pjsip.conf"})
WILDCARD = frozenset({"", "0.0.0.0", "::"})


def new_secret() -> str:
    """A secret for AMI or a SIP password: 192 random bits, hexadecimal."""
    return secrets.token_hex(24)


@dataclass(frozen=True)
class Node:
    """What the Asterisk side must know about one callbot node."""

    address: str  # host:port the dialplan's AGI() dials
    second: str  # the failover node (the same node when there is only one)
    ami_host: str
    ami_port: int
    ami_user: str
    ami_secret: str
    agent_passwords: dict[str, str] = field(default_factory=dict)  # endpoint → password

    @classmethod
    def from_settings(
        cls, settings: Settings, ami_secret: str, *, address: str = "", second: str = ""
    ) -> Node:
        address = address or agi_address(settings.listen.host, settings.listen.port)
        return cls(
            address=address,
            second=second or address,
            ami_host=settings.ami.host,
            ami_port=settings.ami.port,
            ami_user=settings.ami.username,
            ami_secret=ami_secret,
        )


def agi_address(host: str, port: int) -> str:
    """``host:port`` as an AGI URL names the node: a wildcard listener is reached by the
    machine's name, an IPv6 address goes in brackets."""
    if host in WILDCARD:
        host = socket.getfqdn()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def render(kit: Path, node: Node) -> dict[str, str]:
    """Every file of the kit's ``asterisk-conf/`` (``kit``), made for ``node``."""
    files: dict[str, str] = {}
    for path in sorted(kit.iterdir()):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        if path.name == "extensions.conf":
            text = _dialplan(path, text, node)
        elif path.name == "manager.conf":
            text = _manager(path, text, node)
        elif path.name == "pjsip.conf":
            text = _agents(path, text, node)
        files[path.name] = text
    return files


def write(target: Path, files: dict[str, str]) -> list[Path]:
    """Write the rendered files; those holding a secret only readable by their owner."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        path = target / name
        write_text(path, text, private=name in PRIVATE)
        written.append(path)
    return written


def write_text(path: Path, text: str, *, private: bool = False) -> None:
    """Write ``path``; a private file is created with mode 600 (never readable in between)."""
    mode = 0o600 if private else 0o644
    if path.exists():
        path.unlink()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(path, mode)  # whatever the umask


def _header(text: str, what: str) -> str:
    return f"; agi-callbot {__version__}: {what}\n{text}"


def _edit(text: str, edits: dict[int, tuple[str, str]]) -> str:
    """Replace, on line N, the first ``old`` after the key by ``new``."""
    lines = text.splitlines(keepends=True)
    for number, (old, new) in edits.items():
        line = lines[number - 1]
        start = line.find("=") + 1
        at = line.find(old, start)
        if start == 0 or at < 0:
            raise ConfigError(f"line {number}: {old!r} not found in {line.strip()!r}")
        lines[number - 1] = line[:at] + new + line[at + len(old) :]
    return "".join(lines)


def _own_entries(conf: ConfigFile, path: Path):  # type: ignore[no-untyped-def]
    """(category, entry) pairs written in ``path`` itself (not inherited copies)."""
    seen: set[int] = set()
    for category in conf.categories:
        for entry in category.entries:
            if entry.file == path and entry.line >= category.line and entry.line not in seen:
                seen.add(entry.line)
                yield category, entry


def _dialplan(path: Path, text: str, node: Node) -> str:
    conf = parse(path)
    first, second = KIT_NODES
    edits: dict[int, tuple[str, str]] = {}
    for category, entry in _own_entries(conf, path):
        if category.name == "globals" and entry.key in ("CALLBOT_NODE1", "CALLBOT_NODE2"):
            new = node.address if entry.key == "CALLBOT_NODE1" else node.second
            edits[entry.line] = (entry.value, new)
        elif f"agi://{first}/" in entry.value:
            edits[entry.line] = (f"agi://{first}/", f"agi://{node.address}/")
        elif f"agi://{second}/" in entry.value:
            edits[entry.line] = (f"agi://{second}/", f"agi://{node.second}/")
    what = f"the callbot node is {node.address}, failover {node.second}"
    return _header(_edit(text, edits), what)


def _manager(path: Path, text: str, node: Node) -> str:
    conf = parse(path)
    edits: dict[int, tuple[str, str]] = {}
    user = next((c for c in conf.sections() if c.name != "general" and c.get("secret")), None)
    if user is None:
        raise ConfigError(f"{path}: no AMI user with a secret")
    remote = _ip(node.ami_host)
    for category, entry in _own_entries(conf, path):
        key = entry.key.lower()
        if category.name == "general" and key == "port":
            edits[entry.line] = (entry.value, str(node.ami_port))
        elif category.name == "general" and key == "bindaddr" and remote and not remote.is_loopback:
            edits[entry.line] = (entry.value, str(remote))
        elif category is user and key == "secret":
            edits[entry.line] = (entry.value, node.ami_secret)
        elif category is user and key == "permit" and remote and not remote.is_loopback:
            # Asterisk is elsewhere: only this node may log in
            peer = _ip(node.address.rpartition(":")[0])
            if peer is not None:
                edits[entry.line] = (entry.value.split("/")[0], str(peer))
    text = _edit(text, edits)
    if user.name != node.ami_user:
        lines = text.splitlines(keepends=True)
        lines[user.line - 1] = lines[user.line - 1].replace(
            f"[{user.name}]", f"[{node.ami_user}]", 1
        )
        text = "".join(lines)
    what = f"AMI user {node.ami_user} on port {node.ami_port}, secret freshly generated"
    return _header(text, f"{what} (the node's env_file holds the same)")


def _agents(path: Path, text: str, node: Node) -> str:
    conf = parse(path)
    edits: dict[int, tuple[str, str]] = {}
    for category, entry in _own_entries(conf, path):
        if entry.key.lower() == "password":
            password = new_secret()[:20]
            node.agent_passwords[category.name] = password
            edits[entry.line] = (entry.value, password)
    return _header(_edit(text, edits), "agent passwords freshly generated")
