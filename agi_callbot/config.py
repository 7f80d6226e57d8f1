"""Settings: embedded defaults → settings file → ``CALLBOT_*`` environment → command line.

One frozen object, built once at start-up and handed to every part. Every key can
come from the environment as ``CALLBOT_`` + its path joined by ``__``
(``CALLBOT_LISTEN__PORT=4574``, ``CALLBOT_GATEWAYS__SMS__BASE_URL=…``); values are
read as YAML scalars, so lists and maps can be given as JSON. Secrets never live
here: settings only *name* the environment variable that holds them
(``token_env: WA_TOKEN``), and :func:`secret` reads it.

Relative paths are relative to the settings file's folder (the working directory
when there is none). Without ``--config`` or ``CALLBOT_CONFIG``, ``callbot.yaml`` in the
working directory is the settings file when it exists (a node folder made by
``agi-callbot init``).

Secrets can also come from an environment file the settings name (``env_file:
callbot.env``, ``KEY=value`` lines, mode 600): its variables are added to the
environment where the real environment does not set them already, like systemd's
``EnvironmentFile=``.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import os
import re
import types
import typing
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agi_callbot.errors import ConfigError

ENV_PREFIX = "CALLBOT_"
#: the settings file used when none is named: a node folder's own (``agi-callbot init``)
DEFAULT_FILE = "callbot.yaml"


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_FACTORS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


class Duration(float):
    """A number of seconds that settings files may write as ``5s``, ``2m``, ``250ms``."""


def parse_duration(value: object) -> float:
    """A duration as admins write it (``5s``, ``1.5s``, ``250ms``, ``2m``, ``1h``, ``30d``, or a
    bare number of seconds) in seconds; raise ``ValueError`` with the accepted forms otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"negative duration: {value!r}")
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _FACTORS[match.group(2)]
    raise ValueError(f"not a duration: {value!r} (write e.g. 5s, 250ms, 2m)")


@dataclass(frozen=True)
class Listen:
    host: str = "127.0.0.1"
    port: int = 4573
    max_calls: int = 5000
    env_timeout: Duration = Duration(5.0)
    #: deadline for commands that return at once (NOOP, SET VARIABLE…); playback,
    #: GET DATA, EXEC get their own deadline from their arguments, plus this margin.
    reply_timeout: Duration = Duration(10.0)
    #: EXEC Queue / Dial can last as long as a caller waits: no deadline unless set.
    exec_timeout: Duration = Duration(0.0)
    #: upper bound for a prompt, GET DATA or WAIT FOR DIGIT to answer (a prompt's
    #: length is not known here); a dead TCP peer is found sooner by keepalive.
    media_timeout: Duration = Duration(1800.0)
    drain_timeout: Duration = Duration(30.0)
    close_timeout: Duration = Duration(2.0)
    #: TCP keepalive on each FastAGI socket: first probe after ``keepalive_idle`` of
    #: silence, then every ``keepalive_interval``; ``keepalive_count`` unanswered probes
    #: end the call (a vanished Asterisk is noticed in idle + interval × count, ~1 min).
    #: The system default (7,200 s) would hold a Queue's call slot for two hours.
    keepalive_idle: Duration = Duration(30.0)
    keepalive_interval: Duration = Duration(10.0)
    keepalive_count: int = 3

    def __post_init__(self) -> None:
        for name in ("keepalive_idle", "keepalive_interval", "keepalive_count"):
            if getattr(self, name) < 1:
                raise ConfigError(f"setting 'listen.{name}': must be at least 1")


@dataclass(frozen=True)
class Http:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 8090


@dataclass(frozen=True)
class Defaults:
    language: str = "es"
    region: str = "ES"
    timezone: str = "Europe/Madrid"


@dataclass(frozen=True)
class Tts:
    #: the chain, best first: built-in engines (espeak-ng, gtts) and provider names
    engines: tuple[str, ...] = ("espeak-ng",)
    #: how long a live call waits for a prompt not yet in the cache before the next
    #: engine of the chain speaks it (the slow render finishes in the background)
    live_budget: Duration = Duration(0.7)
    #: neural voices: ``{name: {kind, base_url, key_env, region, voices: {es, en}, rate}}``
    #: (``agi_callbot.tts.providers`` reads and checks them)
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    gtts_timeout: Duration = Duration(5.0)
    render_timeout: Duration = Duration(20.0)
    #: folder of an admin's own recordings: ``<recordings_dir>/<language>/<prompt_id>.<ext>``
    recordings_dir: Path = Path("sounds/prompts")


@dataclass(frozen=True)
class Prompts:
    delivery: str = "local"  # local | http | deployed
    base_url: str = "http://127.0.0.1:8090/prompts"
    http_format: str = "sln16"
    #: formats kept in the cache (local delivery, ``prompts build``): Asterisk picks the
    #: one needing no transcoding for the channel's codec; the first is rendered while the
    #: caller waits, the others right after, in the background.
    formats: tuple[str, ...] = ("sln16", "sln", "ulaw", "alaw")
    #: where ``prompts build --output`` files live under Asterisk's sounds directory
    deployed_prefix: str = "callbot"


@dataclass(frozen=True)
class Outbox:
    store: str = "sqlite"  # sqlite | postgresql://…
    workers: int = 4
    max_attempts: int = 8
    backoff_base: Duration = Duration(2.0)
    backoff_max: Duration = Duration(600.0)
    enqueue_timeout: Duration = Duration(0.5)
    send_timeout: Duration = Duration(15.0)


@dataclass(frozen=True)
class Ami:
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "callbot"
    secret_env: str = "AMI_SECRET"
    timeout: Duration = Duration(2.0)


@dataclass(frozen=True)
class Log:
    format: str = "auto"  # auto | json | text
    level: str = "INFO"
    full_numbers: bool = False


@dataclass(frozen=True)
class Flows:
    max_steps: int = 500
    reload: bool = True
    reload_interval: Duration = Duration(1.0)


@dataclass(frozen=True)
class Console:
    """The designer console (:mod:`agi_callbot.console`), on the HTTP listener by default.

    ``port`` other than 0 gives it a listener of its own (``host:port``), so the provider
    callbacks can be exposed without exposing the console. The admin token is read from
    the environment variable ``token_env`` names (generated at start when it is unset);
    ``password_hash`` (``agi-callbot console-password``) lets admins log in with a
    password instead.
    """

    enabled: bool = True
    token_env: str = "CONSOLE_TOKEN"
    password_hash: str = ""
    host: str = "127.0.0.1"
    port: int = 0
    session_ttl: Duration = Duration(12 * 3600.0)
    #: previous versions kept per flow (the oldest go first)
    history: int = 100
    #: largest flow text or upload the console accepts, in bytes
    max_flow_bytes: int = 1_000_000
    max_upload_bytes: int = 20_000_000
    #: reverse proxies (addresses or CIDRs) whose X-Forwarded-Proto / Forwarded say how
    #: the browser reached them (the session cookie is Secure behind HTTPS); none by default
    trusted_proxies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for entry in self.trusted_proxies:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ConfigError(
                    f"setting 'console.trusted_proxies': {entry!r} is not an address or "
                    "a network (write e.g. 10.0.0.5 or 10.0.0.0/24)"
                ) from None


@dataclass(frozen=True)
class Settings:
    listen: Listen = field(default_factory=Listen)
    http: Http = field(default_factory=Http)
    flows_dir: Path = Path("flows")
    data_dir: Path = Path("var")
    defaults: Defaults = field(default_factory=Defaults)
    flows: Flows = field(default_factory=Flows)
    tts: Tts = field(default_factory=Tts)
    prompts: Prompts = field(default_factory=Prompts)
    moh_dir: Path = Path("sounds/moh")
    #: ``KEY=value`` file with the secrets the settings name (``*_env``), mode 600
    env_file: Path | None = None
    outbox: Outbox = field(default_factory=Outbox)
    #: per channel (sms, whatsapp, email, webhook): provider settings, read by each gateway.
    #: A channel left out runs in dry-run (logged, not sent).
    gateways: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: approved WhatsApp templates the flows may name: {name: {language, params, category, …}}
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    ami: Ami = field(default_factory=Ami)
    log: Log = field(default_factory=Log)
    console: Console = field(default_factory=Console)
    #: where the settings came from (None: embedded defaults + environment only)
    source: Path | None = None

    @property
    def calls_db(self) -> Path:
        return self.data_dir / "calls.sqlite"

    @property
    def outbox_db(self) -> Path:
        return self.data_dir / "outbox.sqlite"

    @property
    def prompts_dir(self) -> Path:
        return self.data_dir / "prompts"

    @property
    def console_dir(self) -> Path:
        """The console's own files: flow history, sessions' Try it audio."""
        return self.data_dir / "console"


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
