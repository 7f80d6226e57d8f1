"""A node's settings file with every default written out, commented.

Made from the :class:`~agi_callbot.config.Settings` dataclasses themselves, so a
default changed in the code is the default the file shows: the values a node sets
are plain YAML lines, every other setting is a ``# key: default`` line an admin
uncomments to change.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from agi_callbot import __version__
from agi_callbot.config import Duration, Settings

#: one line above each top-level setting (every field of Settings has one: a test says so)
HELP: dict[str, str] = {
    "listen": "FastAGI: where Asterisk's AGI(agi://host:port/flow) connects",
    "http": "Prompts, /health and /metrics over HTTP (8088/8089 are Asterisk's own)",
    "flows_dir": "The flows: <flows_dir>/<name>.yaml answers agi://host/<name>",
    "data_dir": "Call records, the outbox and the prompt cache (SQLite files, prompts/)",
    "defaults": "For calls and flows that do not say otherwise",
    "flows": "Flow engine limits; changed flow files are reloaded while serving",
    "tts": "Text to speech: engines tried in order (espeak-ng, gtts, or the name of one of "
    "the providers: kind google | azure | polly | openai); recordings_dir wins over them all",
    "prompts": "How Asterisk gets prompts: local files, http from this node, or deployed",
    "moh_dir": "Hold music, one folder per MOH class (agi-callbot moh add TEAM FILE)",
    "env_file": "KEY=value file with the secrets the *_env settings name (mode 600)",
    "outbox": "SMS, WhatsApp, e-mail and webhooks after the call: sqlite or postgresql://",
    "gateways": "Per channel (sms, whatsapp, email, webhook); a channel left out is dry-run",
    "templates": "Approved WhatsApp templates the flows may name",
    "ami": "Asterisk Manager Interface: is anyone free in a team before transferring",
    "log": "Logging: format auto | json | text; phone numbers masked unless full_numbers",
    "console": "The designer console in the browser: admin token from token_env's variable",
}

HEADER = """\
# {name} — settings of this agi-callbot node (written by agi-callbot {version} init).
#
# Every setting is listed with its default, commented out ("# key: default"): to
# change one, remove the "# " of its line (and of its section's line). Relative paths
# are relative to this file's folder. Durations may be written 5s, 2m, 250ms.
# Any setting can also come from the environment: CALLBOT_LISTEN__PORT=4574.
# Secrets never live here: a setting names the variable that holds one
# (ami.secret_env: AMI_SECRET), set in the environment or in env_file.
"""


def render(values: dict[str, Any], name: str = "callbot.yaml") -> str:
    """The settings file: ``values`` (nested like the file) set, every other default shown."""
    unknown = set(values) - set(HELP)
    if unknown:
        raise ValueError(f"not settings: {', '.join(sorted(unknown))}")
    lines = [HEADER.format(name=name, version=__version__)]
    defaults = Settings()
    for field in _fields(Settings):
        default = getattr(defaults, field.name)
        lines.append(f"# {HELP[field.name]}")
        given = values.get(field.name)
        if dataclasses.is_dataclass(default):
            lines += _section(field.name, default, given or {})
        elif isinstance(given, dict):
            lines.append(f"{field.name}:")
            lines += [f"  {key}: {_scalar(value)}" for key, value in given.items()]
        elif field.name in values:
            lines.append(f"{field.name}: {_scalar(given)}")
        else:
            lines.append(f"# {field.name}: {_scalar(default)}")
        lines.append("")
    return "\n".join(lines)


def _section(name: str, default: Any, given: dict[str, Any]) -> list[str]:
    unknown = set(given) - {f.name for f in _fields(type(default))}
    if unknown:
        raise ValueError(f"not settings: {', '.join(f'{name}.{k}' for k in sorted(unknown))}")
    lines = [f"{name}:" if given else f"# {name}:"]
    for field in _fields(type(default)):
        if field.name in given:
            lines.append(f"  {field.name}: {_scalar(plain(given[field.name]))}")
        else:
            # in a section that is on, the marker sits in the indentation: removing
            # "# " leaves the key where YAML wants it, in either case
            marker = "  # " if given else "#   "
            lines.append(f"{marker}{field.name}: {_scalar(getattr(default, field.name))}")
    return lines


def _fields(cls: type) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(cls) if f.name != "source"]


def plain(value: Any) -> Any:
    """A settings value as YAML writes it: durations as ``5s``, paths as text, lists."""
    if isinstance(value, Duration):
        return f"{float(value):g}s"
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def _scalar(value: Any) -> str:
    """One value on one line (flow style for lists and maps)."""
    text = yaml.safe_dump(
        plain(value), default_flow_style=True, allow_unicode=True, width=1 << 16
    ).strip()
    return text.removesuffix("...").strip()
