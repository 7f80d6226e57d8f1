"""The settings: :class:`Settings` and one frozen dataclass per section of the settings
file (``listen``, ``http``, ``tts``, ``outbox``…), with their defaults and the checks a
value gets however it was given; durations as admins write them (``5s``, ``2m``).

What each setting means: :mod:`agi_callbot.meanings`; how they are read:
:mod:`agi_callbot.config.loading`.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agi_callbot.errors import ConfigError

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
    the environment variable ``token_env`` names (generated at start when it is unset, its
    login link kept in ``<data_dir>/console/login-url``, mode 600, never logged);
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
    #: processes that check, edit, draw and try flow drafts, off the node's calls
    workers: int = 1

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ConfigError("setting 'console.workers': must be at least 1")
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
