"""The settings reference: what every setting means, as ``agi-callbot settings --markdown``.

Keys, environment variables, types and defaults come from the code (the settings
dataclasses in :mod:`agi_callbot.config`, each message gateway's ``KEYS``); what a
setting *means* is written here, once, for admins. ``docs/settings.md`` embeds the
output between two markers, and a test fails when a setting has no meaning here or
the embedded tables differ from what this module prints now.

A new setting: add its field to ``config/sections.py`` (or its key to a gateway's ``KEYS``),
its meaning to :mod:`agi_callbot.meanings` (``MEANINGS``, ``GATEWAY_KEYS``…), then
``make docs``.
"""

from __future__ import annotations

import dataclasses
import importlib
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agi_callbot import config
from agi_callbot.config import ENV_PREFIX, Settings
from agi_callbot.meanings import GATEWAY_KEYS, MEANINGS, TEMPLATE_KEYS, TTS_PROVIDER_KEYS

_SECTIONS = {
    "listen": "listen: the FastAGI server",
    "http": "http: health, metrics, prompts and callbacks",
    "defaults": "defaults: for flows that do not say",
    "flows": "flows: loading and limits",
    "tts": "tts: text to speech",
    "prompts": "prompts: how Asterisk gets them",
    "outbox": "outbox: messages after the call",
    "ami": "ami: Asterisk Manager Interface",
    "log": "log",
    "console": "console: the designer web page",
    "flows_dir": "folders",
    "data_dir": "folders",
    "env_file": "folders",
    "moh_dir": "moh_dir: hold music",
    "gateways": "gateways and templates: messages",
    "templates": "gateways and templates: messages",
}


@dataclass(frozen=True)
class Row:
    key: str
    env: str
    type: str
    default: str
    meaning: str


def env_name(key: str) -> str:
    """``listen.port`` → ``CALLBOT_LISTEN__PORT``."""
    return ENV_PREFIX + key.upper().replace(".", "__")


def settings_rows(cls: type = Settings, prefix: str = "") -> Iterator[Row]:
    """One row per setting, sections in the order the dataclasses declare them."""
    hints = typing.get_type_hints(cls)
    defaults = cls()
    for f in dataclasses.fields(cls):
        if f.name == "source":
            continue
        key = f"{prefix}{f.name}"
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            yield from settings_rows(tp, key + ".")
            continue
        value = getattr(defaults, f.name)
        yield Row(key, env_name(key), type_name(tp), show(value), MEANINGS.get(key, ""))


def type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        (tp,) = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        return type_name(tp)
    if tp is config.Duration:
        return "duration"
    if origin is tuple:
        return "list"
    if origin is dict:
        return "mapping"
    return {bool: "true/false", int: "number", str: "text", Path: "path"}.get(tp, str(tp))


def show(value: Any) -> str:
    """A default as an admin would write it in the settings file ("": none)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, config.Duration):
        return duration(float(value))
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{}" if not value else str(value)
    return str(value)


def duration(seconds: float) -> str:
    if seconds and seconds % 3600 == 0:
        return f"{seconds / 3600:g}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    if 0 < seconds < 1:
        return f"{seconds * 1000:g}ms"
    return f"{seconds:g}s"


def gateway_providers() -> dict[tuple[str, str], frozenset[str]]:
    """``{(channel, provider): keys}`` for every registered message gateway."""
    from agi_callbot.gateways import base

    for module in base._MODULES.values():
        importlib.import_module(module)
    return {
        key: frozenset(getattr(factory, "KEYS", ())) | {"provider", "dry_run"}
        for key, factory in sorted(base._REGISTRY.items())
    }


def gateway_meaning(channel: str, provider: str, key: str) -> tuple[str, str] | None:
    return GATEWAY_KEYS.get(f"{channel}.{provider}.{key}") or GATEWAY_KEYS.get(key)


def tts_provider_keys() -> list[str]:
    """The keys one ``tts.providers.<name>`` entry accepts."""
    from agi_callbot.tts.provider_conf import ProviderSettings

    return [f.name for f in dataclasses.fields(ProviderSettings) if f.name != "name"]


def undocumented() -> list[str]:
    """Settings and provider keys with no meaning written here (what the docs test lists)."""
    missing = [row.key for row in settings_rows() if not row.meaning]
    missing += [
        f"tts.providers.<name>.{key} (TTS_PROVIDER_KEYS)"
        for key in tts_provider_keys()
        if key not in TTS_PROVIDER_KEYS
    ]
    for (channel, provider), keys in gateway_providers().items():
        missing += [
            f"gateways.{channel} (provider {provider}): {key}"
            for key in sorted(keys)
            if gateway_meaning(channel, provider, key) is None
        ]
    return missing


def markdown() -> str:
    """The tables of docs/settings.md: every setting, every provider key, template keys."""
    from agi_callbot.gateways.base import _DEFAULT_PROVIDER

    out: list[str] = []
    section = None
    head = "| Key | Environment variable | Type | Default | Meaning |\n|---|---|---|---|---|"
    for row in settings_rows():
        title = _SECTIONS.get(row.key.split(".")[0], row.key.split(".")[0])
        if title != section:
            section = title
            out += ["", f"### {title}", "", head]
        default = f"`{row.default}`" if row.default else "—"
        out.append(f"| `{row.key}` | `{row.env}` | {row.type} | {default} | {_cell(row.meaning)} |")
    out += ["", "### tts.providers.<name>: neural voices", "", "| Key | Default | Meaning |"]
    out.append("|---|---|---|")
    for key in tts_provider_keys():
        default_text, meaning = TTS_PROVIDER_KEYS.get(key, ("", ""))
        out.append(f"| `{key}` | {_cell(default_text)} | {_cell(meaning)} |")
    out += ["", "### gateways.<channel>: message providers", ""]
    for (channel, provider), keys in gateway_providers().items():
        default = " (the default)" if _DEFAULT_PROVIDER.get(channel) == provider else ""
        out += [
            f"#### `gateways.{channel}` with `provider: {provider}`{default}",
            "",
            "| Key | Default | Meaning |",
            "|---|---|---|",
        ]
        order = ["provider", "dry_run", *sorted(keys - {"provider", "dry_run"})]
        for key in order:
            default_text, meaning = gateway_meaning(channel, provider, key) or ("", "")
            if key == "provider":
                default_text = _DEFAULT_PROVIDER.get(channel, "")
                meaning = f"`{provider}` for the keys of this table."
            out.append(f"| `{key}` | {_cell(default_text)} | {_cell(meaning)} |")
        out.append("")
    out += ["### templates.<name>: approved WhatsApp templates", "", "| Key | Default | Meaning |"]
    out.append("|---|---|---|")
    for key, (default_text, meaning) in TEMPLATE_KEYS.items():
        out.append(f"| `{key}` | {_cell(default_text)} | {_cell(meaning)} |")
    out += [
        "",
        "### Secrets: every `*_env` key",
        "",
        "| Setting | Default | Holds |",
        "|---|---|---|",
    ]
    for key, default_text, meaning in secrets():
        out.append(f"| {key} | {_cell(default_text)} | {_cell(meaning)} |")
    return "\n".join(out).strip() + "\n"


def secrets() -> list[tuple[str, str, str]]:
    """Every setting that names the environment variable of a secret: (key, default, meaning)."""
    found = [
        (f"`{r.key}`", f"`{r.default}`", r.meaning)
        for r in settings_rows()
        if r.key.endswith("_env")
    ]
    for key in (k for k in tts_provider_keys() if k.endswith("_env")):
        default_text, meaning = TTS_PROVIDER_KEYS.get(key, ("", ""))
        found.append((f"`tts.providers.<name>.{key}`", default_text, meaning))
    for (channel, provider), keys in gateway_providers().items():
        for key in sorted(k for k in keys if k.endswith("_env")):
            default_text, meaning = gateway_meaning(channel, provider, key) or ("", "")
            found.append((f"`gateways.{channel}.{key}` ({provider})", default_text, meaning))
    return found


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


BEGIN = "<!-- settings tables: generated by `agi-callbot settings --markdown`; `make docs` -->"
END = "<!-- end of generated settings tables -->"


def embed(document: str) -> str:
    """``document`` with the text between :data:`BEGIN` and :data:`END` generated anew."""
    start, end = document.index(BEGIN) + len(BEGIN), document.index(END)
    return document[:start] + "\n\n" + markdown() + "\n" + document[end:]


def effective(settings: Settings) -> dict[str, Any]:
    """The settings as plain YAML-able values, in the settings file's shape."""

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {
                f.name: plain(getattr(value, f.name))
                for f in dataclasses.fields(value)
                if f.name != "source"
            }
        if isinstance(value, config.Duration):
            return duration(float(value))
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        return value

    return plain(settings)


if __name__ == "__main__":  # make docs: refresh the tables in the files named
    import sys

    for name in sys.argv[1:]:
        path = Path(name)
        path.write_text(embed(path.read_text(encoding="utf-8")), encoding="utf-8")
