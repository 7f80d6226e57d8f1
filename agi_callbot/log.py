"""Logging: one JSON object per line for machines, short lines for a person at a terminal.

Why this module exists rather than a ``basicConfig`` call:

* **Every line of a call says which call.** :func:`call_context` binds ``uniqueid``,
  ``channel``, ``flow`` and ``version`` in a :mod:`contextvars` variable; the transport
  opens it when a connection starts and the router adds the flow once it is known. A
  filter copies those fields onto every record, so a block deep in the flow logs
  ``log.info("menu timeout")`` and the line still names its call. Context variables
  follow asyncio tasks, so thousands of concurrent calls never mix their fields.
* **No secrets in logs.** Gateways and the AMI client call :func:`register_secret` with
  the values they read from the environment; the redaction filter replaces them (and
  ``Bearer``/``Basic`` credentials, ``password=``-style query parameters) in the
  message, the extra fields and the traceback before any handler formats the record.
* **No full phone numbers at INFO.** Code that logs a number passes it through
  :func:`agi_callbot.phone.show_number`, which masks the middle digits unless the
  admin set ``log.full_numbers`` (:func:`setup_logging` passes that switch on).
* **One record, one line.** JSON escapes newlines; the text format escapes control
  characters, so a caller name holding ``\\n`` cannot forge a second log line.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import IO, Any

from agi_callbot import phone
from agi_callbot.config import Log, secret
from agi_callbot.errors import ConfigError

#: fields a call binds, in the order the text format prints them
CALL_FIELDS = ("uniqueid", "channel", "flow", "version")
FORMATS = ("auto", "json", "text")
REDACTED = "***"

_call: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "agi_callbot_call", default=MappingProxyType({})
)
_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_secret_pattern: re.Pattern[str] | None = None

#: credentials that are secrets whoever logs them, registered or not
_CREDENTIALS = re.compile(
    r"(?P<head>\b(?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]{6,}"
    # a quoted key (``'passwd': …``) is a value only when the value is quoted too (JSON,
    # a dict's repr); ``…passwd': letters`` is prose (an error message naming a setting)
    r"|(?P<key>\b(?:password|passwd|secret|token|api_key|apikey|access_token|auth_token)"
    r"(?:[\"']\s*[=:]\s*[\"']|\s*[=:]\s*[\"']?))[^\s&\"',;]+",
    re.IGNORECASE,
)
#: a word each alternative of ``_CREDENTIALS`` needs, lower case (a cheap test first)
_CREDENTIAL_WORDS = re.compile("bearer|basic|password|passwd|secret|token|api_key|apikey")
#: attributes every LogRecord has: anything else was passed with ``extra=``
_RECORD_ATTRS = frozenset(logging.LogRecord("x", 0, "x", 0, "x", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: ``json.dumps(…, ensure_ascii=False, default=str)`` without a new encoder per line
_json_line = json.JSONEncoder(ensure_ascii=False, default=str).encode


# --------------------------------------------------------------------------- call context


@contextmanager
def call_context(**fields: Any) -> Iterator[None]:
    """Bind call fields (``uniqueid=…, channel=…``) to every line logged inside the block.

    Nested blocks add to (and may override) the outer fields; ``None`` values are left
    out. The binding belongs to the current task and the tasks it creates.
    """
    merged = {**_call.get(), **{k: str(v) for k, v in fields.items() if v is not None}}
    token = _call.set(merged)
    try:
        yield
    finally:
        _call.reset(token)


def bind(**fields: Any) -> None:
    """Add fields to the current call context for the rest of this task's block.

    For values learnt mid-call (the router knows the flow and its version only after
    reading the env block) without nesting another ``with``.
    """
    _call.set({**_call.get(), **{k: str(v) for k, v in fields.items() if v is not None}})


def current_call() -> dict[str, str]:
    """The fields bound to the running call (empty outside a call)."""
    return dict(_call.get())


class CallContextFilter(logging.Filter):
    """Copy the call fields onto each record (an explicit ``extra=`` value wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _call.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


# --------------------------------------------------------------------------- secrets


def register_secret(value: str | None) -> None:
    """Never let ``value`` reach a log line (a token, a password, an AMI secret).

    Empty values are ignored; whitespace around the value is not part of it.
    """
    global _secret_pattern
    if value is None or not value.strip():
        return
    with _secrets_lock:
        _secrets.add(value.strip())
        ordered = sorted(_secrets, key=len, reverse=True)  # longest first: no partial leftovers
        _secret_pattern = re.compile("|".join(re.escape(s) for s in ordered))


def read_secret(env_name: str | None) -> str | None:
    """The secret in the environment variable ``env_name`` (settings name it), registered
    so that no log line carries it: gateways, the AMI client and the console read theirs
    here."""
    value = secret(env_name)
    register_secret(value)
    return value


def forget_secrets() -> None:
    """Drop every registered secret (tests; a reload that replaced the gateways)."""
    global _secret_pattern
    with _secrets_lock:
        _secrets.clear()
        _secret_pattern = None


def redact(text: str) -> str:
    """``text`` with registered secrets and credential-looking values replaced by ``***``."""
    pattern = _secret_pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    # every credential match holds one of these words; in ASCII text, IGNORECASE is lower()
    if text.isascii() and not _CREDENTIAL_WORDS.search(text.lower()):
        return text
    return _CREDENTIALS.sub(lambda m: (m["head"] or m["key"]) + REDACTED, text)


class RedactFilter(logging.Filter):
    """Redact the message, string extras and the traceback before any formatter sees them."""

    _exc_formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        for key, value in list(record.__dict__.items()):
            if key not in _RECORD_ATTRS and isinstance(value, str):
                setattr(record, key, redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = self._exc_formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


# --------------------------------------------------------------------------- formats


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {
        k: v
        for k, v in record.__dict__.items()
        if k not in _RECORD_ATTRS and k not in CALL_FIELDS and not k.startswith("_")
    }


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg", <call fields>, <extras>, "exc"}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        ts = dt.datetime.fromtimestamp(record.created, dt.UTC)
        entry: dict[str, Any] = {
            "ts": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in CALL_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        for key, value in _extras(record).items():
            entry.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return _json_line(entry)


class TextFormatter(logging.Formatter):
    """``12:00:00.123 INFO  logger [uniqueid flow@version] message key=value``."""

    def format(self, record: logging.LogRecord) -> str:
        ts = dt.datetime.fromtimestamp(record.created).strftime("%H:%M:%S.%f")[:-3]
        call = " ".join(
            str(getattr(record, key))
            for key in ("uniqueid", "channel")
            if getattr(record, key, None)
        )
        flow = getattr(record, "flow", None)
        if flow:
            version = getattr(record, "version", None)
            call = f"{call} {flow}@{version}" if version else f"{call} {flow}"
        parts = [ts, f"{record.levelname:<5}", record.name]
        if call.strip():
            parts.append(f"[{call.strip()}]")
        parts.append(_escape(record.getMessage()))
        parts.extend(f"{k}={_escape(str(v))}" for k, v in _extras(record).items())
        line = " ".join(parts)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line = f"{line}\n{record.exc_text}"
        return line


def _escape(text: str) -> str:
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


# --------------------------------------------------------------------------- setup

_HANDLER_NAME = "agi_callbot"


def setup_logging(config: Log, *, stream: IO[str] | None = None) -> logging.Handler:
    """Install the one handler on the root logger (again: replaces the previous one).

    ``format: auto`` writes text when ``stream`` is a terminal and JSON otherwise
    (journald, docker logs, a file). Raises ConfigError for an unknown format or level.
    """
    if config.format not in FORMATS:
        raise ConfigError(f"log.format must be one of {', '.join(FORMATS)}, got {config.format!r}")
    level = logging.getLevelName(str(config.level).upper())
    if not isinstance(level, int):
        raise ConfigError(f"log.level: unknown level {config.level!r}")
    stream = sys.stderr if stream is None else stream
    fmt = config.format
    if fmt == "auto":
        isatty = getattr(stream, "isatty", None)
        fmt = "text" if isatty is not None and isatty() else "json"
    handler = logging.StreamHandler(stream)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(CallContextFilter())
    handler.addFilter(RedactFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # neither format prints where a line was logged from, nor its thread or process:
    # not gathered for every record (the logging documentation's own advice; nothing
    # here logs with stack_info=True, which would need the caller's frame)
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    # one line per HTTP request would drown the call lines; errors still show
    logging.getLogger("aiohttp.access").setLevel(max(level, logging.WARNING))
    phone.show_full_numbers(bool(config.full_numbers))
    return handler
