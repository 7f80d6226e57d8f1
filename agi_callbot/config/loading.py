"""Reading the settings: embedded defaults → settings file → ``CALLBOT_*`` environment
(and the environment file the settings name) → overrides, into :class:`Settings`, with
a clear error naming the key (and the environment variable) of a bad value.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import types
import typing
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

import yaml

from agi_callbot.config.sections import Duration, Settings, parse_duration
from agi_callbot.errors import ConfigError

ENV_PREFIX = "CALLBOT_"
#: the settings file used when none is named: a node folder's own (``agi-callbot init``)
DEFAULT_FILE = "callbot.yaml"


def secret(env_name: str | None) -> str | None:
    """Read a secret from the environment variable a setting names (never from a file we log).

    Code that keeps the secret reads it with :func:`agi_callbot.log.read_secret`, which
    also registers it for redaction."""
    if not env_name:
        return None
    return os.environ.get(env_name) or None


def load_settings(
    path: str | os.PathLike[str] | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the Settings: defaults, then the file, then ``CALLBOT_*`` variables, then
    ``overrides``.

    ``overrides`` uses dotted paths (``{"listen.port": 4574}``), as the CLI flags do.
    """
    environ = os.environ if environ is None else environ
    if path is None and environ.get(ENV_PREFIX + "CONFIG"):
        path = environ[ENV_PREFIX + "CONFIG"]
    elif path is None and Path(DEFAULT_FILE).is_file():
        path = DEFAULT_FILE
    data: dict[str, Any] = {}
    origins: dict[str, str] = {}  # setting path -> the environment variable that set it
    base = Path.cwd()
    source: Path | None = None
    if path is not None:
        source = Path(path).resolve()
        try:
            loaded = yaml.safe_load(source.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read settings file {path}: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the settings file must be a mapping")
        data = loaded or {}
        base = source.parent
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX) or key == ENV_PREFIX + "CONFIG":
            continue
        if key.startswith(ENV_PREFIX + "TEST_"):
            continue
        parts = [p.lower() for p in key[len(ENV_PREFIX) :].split("__")]
        _set_path(data, parts, _env_value(raw))
        origins[".".join(parts)] = key
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _set_path(data, dotted.split("."), value)
    settings = _build(Settings, data, "", origins)
    settings = _resolve_paths(dataclasses.replace(settings, source=source), base)
    if settings.env_file is not None:
        for key, value in read_env_file(settings.env_file).items():
            if key not in environ and isinstance(environ, MutableMapping):
                environ[key] = value
    return settings


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines (``#`` comments, an optional ``export``, quotes stripped).

    Refused when other users may read it, and when it sets ``CALLBOT_*`` variables:
    those are settings, read before this file is known.
    """
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read env_file {path}: {exc.strerror}") from exc
    if mode & 0o007:
        raise ConfigError(
            f"env_file {path} holds secrets but other users may read it: chmod 600 {path}"
        )
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key.replace("_", "a").isalnum() or key[0].isdigit():
            raise ConfigError(f"{path}:{number}: expected KEY=value")
        if key.startswith(ENV_PREFIX):
            raise ConfigError(f"{path}:{number}: {key} is a setting: put it in the settings file")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def _env_value(raw: str) -> Any:
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw


def _set_path(data: dict[str, Any], parts: list[str], value: Any) -> None:
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def _build(cls: type, data: Any, where: str, origins: Mapping[str, str]) -> Any:
    if not isinstance(data, Mapping):
        shown = where or "settings"
        raise ConfigError(f"{shown}{_origin(where, origins)}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.name != "source"}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        key = str(key)
        path = f"{where}.{key}" if where else key
        if key not in names:
            close = difflib.get_close_matches(key, sorted(names), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"unknown setting {path!r}{_origin(path, origins)}{hint}")
        kwargs[key] = _coerce(hints[key], value, path, origins)
    return cls(**kwargs)


def _origin(path: str, origins: Mapping[str, str]) -> str:
    """`` (from CALLBOT_X__Y)`` when an environment variable gave this setting."""
    return f" (from {origins[path]})" if path in origins else ""


def _coerce(tp: Any, value: Any, path: str, origins: Mapping[str, str]) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, path, origins)
    try:
        if tp is Duration:
            return Duration(parse_duration(value))
        if tp is bool:
            if isinstance(value, bool):
                return value
            raise ValueError(f"expected true or false, got {value!r}")
        if tp is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
                return int(value)
            raise ValueError(f"expected a whole number, got {_shown(value)}")
        if tp is str:
            if isinstance(value, dict | list):
                raise ValueError(f"expected text, got {value!r}")
            return str(value)
        if tp is Path:
            return Path(str(value))
        if origin is tuple:
            items = [value] if isinstance(value, str) else list(value)
            return tuple(str(v) for v in items)
        if origin is dict:
            if not isinstance(value, Mapping):
                raise ValueError(f"expected a mapping, got {value!r}")
            return {str(k): v for k, v in value.items()}
        if origin in (typing.Union, types.UnionType):
            return None if value is None else Path(str(value))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {path!r}{_origin(path, origins)}: {exc}") from None
    raise ConfigError(f"setting {path!r}: unsupported type {tp!r}")


def _shown(value: Any) -> str:
    return "nothing" if value is None or value == "" else repr(value)


def _resolve_paths(settings: Settings, base: Path) -> Settings:
    def absolute(p: Path) -> Path:
        return p if p.is_absolute() else (base / p)

    return dataclasses.replace(
        settings,
        flows_dir=absolute(settings.flows_dir),
        data_dir=absolute(settings.data_dir),
        moh_dir=absolute(settings.moh_dir),
        env_file=None if settings.env_file is None else absolute(settings.env_file),
        tts=dataclasses.replace(settings.tts, recordings_dir=absolute(settings.tts.recordings_dir)),
    )
