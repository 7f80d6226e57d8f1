"""``agi-callbot init DIR``: a working node folder from the kit.

::

    DIR/callbot.yaml    settings: every default commented, the node's own values set
    DIR/callbot.env     the AMI secret (mode 600; the settings name it, never hold it)
    DIR/flows/          the Spanish and English example flows with their tests
    DIR/sounds/         the kit's prompts (callbot/) and hold music (moh/, one class a team)
    DIR/asterisk/       the kit's Asterisk files for this node's address and AMI user

``cd DIR && agi-callbot serve`` then serves the example flows: the CLI reads
``callbot.yaml`` from the working directory when no ``--config`` is given.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agi_callbot import kit
from agi_callbot.config import DEFAULT_FILE, Settings, load_settings, read_env_file
from agi_callbot.errors import ConfigError
from agi_callbot.kit import conf, settings_file
from agi_callbot.kit.moh import TEAMS, link_team_music
from agi_callbot.kit.settings_file import plain

ENV_FILE = "callbot.env"
#: example settings that are paths of the repository's layout, not a node's
KIT_PATHS = frozenset({"flows_dir", "data_dir", "moh_dir", "env_file"})


@dataclass
class NodeOptions:
    """What ``init`` is told about the node; None keeps the embedded default."""

    host: str | None = None
    port: int | None = None
    http_port: int | None = None
    ami_host: str | None = None
    ami_port: int | None = None
    address: str = ""  # how Asterisk reaches the node, when not the listen address
    second: str = ""  # the failover node of the dialplan

    def values(self) -> dict[str, Any]:
        """The settings these options set, nested like the settings file."""
        values: dict[str, Any] = {}
        for section, key, value in (
            ("listen", "host", self.host),
            ("listen", "port", self.port),
            ("http", "port", self.http_port),
            ("ami", "host", self.ami_host),
            ("ami", "port", self.ami_port),
        ):
            if value is not None:
                values.setdefault(section, {})[key] = value
        return values


@dataclass
class Created:
    folder: Path
    settings: Settings
    node: conf.Node
    files: list[Path] = field(default_factory=list)


def node_values(options: NodeOptions) -> dict[str, Any]:
    """The settings the node sets: the examples' own (their WhatsApp templates, …) that
    differ from the defaults, the options given, and the env file."""
    example = yaml.safe_load((kit.examples() / DEFAULT_FILE).read_text(encoding="utf-8")) or {}
    defaults = Settings()
    values: dict[str, Any] = {}
    for key, value in example.items():
        default = getattr(defaults, key)
        if key in KIT_PATHS:
            continue
        if dataclasses.is_dataclass(default):
            changed = {k: v for k, v in value.items() if plain(v) != plain(getattr(default, k))}
            if changed:
                values[key] = changed
        elif plain(value) != plain(default):
            values[key] = value
    for section, given in options.values().items():
        values.setdefault(section, {}).update(given)
    values["env_file"] = ENV_FILE
    return values


def check_empty(folder: Path, force: bool) -> None:
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{folder} exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise ConfigError(
            f"{folder} is not empty: choose a new folder, or --force to write the node's "
            "files over what is there (other files are kept)"
        )


def create(folder: Path, options: NodeOptions, *, force: bool = False) -> Created:
    """Write the node folder; refuse a non-empty folder unless ``force``."""
    check_empty(folder, force)
    folder.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    settings_path = folder / DEFAULT_FILE
    conf.write_text(settings_path, settings_file.render(node_values(options)))
    files.append(settings_path)
    secret = conf.new_secret()
    env_path = folder / ENV_FILE
    conf.write_text(env_path, env_text(secret), private=True)
    files.append(env_path)
    settings = load_settings(settings_path, environ={})
    files += kit.copy_tree(kit.examples() / "flows", settings.flows_dir)
    files += copy_sounds(folder / "sounds")
    node = conf.Node.from_settings(settings, secret, address=options.address, second=options.second)
    files += conf.write(folder / "asterisk", conf.render(kit.asterisk_conf(), node))
    return Created(folder, settings, node, files)


def env_text(ami_secret: str, name: str = "AMI_SECRET") -> str:
    return (
        "# Secrets of this agi-callbot node (settings: env_file). Keep it mode 600 and out\n"
        "# of version control. The AMI secret is the one in asterisk/manager.conf.\n"
        f"{name}={ami_secret}\n"
    )


def ami_secret_of(settings: Settings) -> str | None:
    """The node's AMI secret from its env file, if it has one."""
    if settings.env_file is None or not settings.env_file.is_file():
        return None
    return read_env_file(settings.env_file).get(settings.ami.secret_env) or None


def copy_sounds(target: Path) -> list[Path]:
    """The kit's sounds, with each team's hold-music class linked to the default music."""
    return kit.copy_tree(kit.sounds(), target) + link_team_music(target / "moh", TEAMS)
