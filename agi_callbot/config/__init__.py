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

In two parts: :mod:`.sections` (:class:`Settings` and one dataclass per section, with
their defaults and checks) and :mod:`.loading` (file, environment file, environment,
overrides → :class:`Settings`; :func:`secret`).
"""

from agi_callbot.config.loading import (
    DEFAULT_FILE,
    ENV_PREFIX,
    load_settings,
    read_env_file,
    secret,
)
from agi_callbot.config.sections import (
    Ami,
    Console,
    Defaults,
    Duration,
    Flows,
    Http,
    Listen,
    Log,
    Outbox,
    Prompts,
    Settings,
    Tts,
    parse_duration,
)

__all__ = [
    "DEFAULT_FILE",
    "ENV_PREFIX",
    "Ami",
    "Console",
    "Defaults",
    "Duration",
    "Flows",
    "Http",
    "Listen",
    "Log",
    "Outbox",
    "Prompts",
    "Settings",
    "Tts",
    "load_settings",
    "parse_duration",
    "read_env_file",
    "secret",
]
