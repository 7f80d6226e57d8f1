"""Structured logs: call fields on every line, one line per record, no secrets, masked numbers."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import random
from collections.abc import Iterator

import pytest

from agi_callbot import log as cblog
from agi_callbot import phone
from agi_callbot.config import Log
from agi_callbot.errors import ConfigError


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def clean_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    root = logging.getLogger()
    monkeypatch.setattr(phone, "_full_numbers", False)
    level = root.level
    yield
    for handler in [h for h in root.handlers if h.get_name() == "agi_callbot"]:
        root.removeHandler(handler)
    root.setLevel(level)
    cblog.forget_secrets()


def json_lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_auto_format_is_json_off_a_terminal_and_text_on_one() -> None:
    piped = io.StringIO()
    cblog.setup_logging(Log(format="auto"), stream=piped)
    logging.getLogger("agi_callbot.t").info("hello %s", "world")
    assert json_lines(piped)[0]["msg"] == "hello world"

    tty = Tty()
    cblog.setup_logging(Log(format="auto"), stream=tty)
    logging.getLogger("agi_callbot.t").info("hello %s", "world")
    assert "INFO  agi_callbot.t hello world" in tty.getvalue()
    assert piped.getvalue().count("\n") == 1  # the first handler was replaced, not stacked


def test_json_line_has_level_logger_timestamp_and_extras() -> None:
    out = io.StringIO()
    cblog.setup_logging(Log(format="json"), stream=out)
    logging.getLogger("agi_callbot.outbox").warning("retrying", extra={"attempt": 3})
    (entry,) = json_lines(out)
    assert entry["level"] == "warning"
    assert entry["logger"] == "agi_callbot.outbox"
    assert entry["attempt"] == 3
    assert entry["ts"].endswith("Z") and "T" in entry["ts"]


async def test_call_fields_reach_every_line_and_never_mix_between_calls() -> None:
    out = io.StringIO()
    cblog.setup_logging(Log(format="json"), stream=out)
    logger = logging.getLogger("agi_callbot.flow")

    async def call(n: int) -> None:
        with cblog.call_context(uniqueid=f"1700.{n}", channel=f"PJSIP/{n}"):
            await asyncio.sleep(0)
            cblog.bind(flow="soporte", version=f"v{n}")
            for _ in range(3):
                await asyncio.sleep(0)
                logger.info("step")

    await asyncio.gather(*(call(n) for n in range(20)))
    logger.info("outside")
    entries = json_lines(out)
    assert len(entries) == 61
    for entry in entries[:-1]:
        n = entry["uniqueid"].split(".")[1]
        assert entry["channel"] == f"PJSIP/{n}"
        assert entry["version"] == f"v{n}"
        assert entry["flow"] == "soporte"
    assert "uniqueid" not in entries[-1]
    assert cblog.current_call() == {}


def test_nested_context_overrides_and_restores() -> None:
    with cblog.call_context(uniqueid="1", flow="a"):
        with cblog.call_context(flow="b", version=None):
            assert cblog.current_call() == {"uniqueid": "1", "flow": "b"}
        assert cblog.current_call() == {"uniqueid": "1", "flow": "a"}


def test_text_format_prints_call_fields_and_cannot_be_split_by_caller_text() -> None:
    out = Tty()
    cblog.setup_logging(Log(format="text"), stream=out)
    with cblog.call_context(
        uniqueid="1700.1", channel="PJSIP/1001-0001", flow="soporte", version="3"
    ):
        logging.getLogger("agi_callbot.x").info("caller name %s", "Ana\nERROR forged line")
    text = out.getvalue()
    assert text.count("\n") == 1
    assert "[1700.1 PJSIP/1001-0001 soporte@3]" in text
    assert "Ana\\nERROR forged line" in text


def test_json_keeps_one_line_for_newlines_and_tracebacks() -> None:
    out = io.StringIO()
    cblog.setup_logging(Log(format="json"), stream=out)
    try:
        raise ValueError("boom\nsecond")
    except ValueError:
        logging.getLogger("agi_callbot.x").exception("failed\nhere")
    assert out.getvalue().count("\n") == 1
    (entry,) = json_lines(out)
    assert entry["msg"] == "failed\nhere"
    assert "ValueError: boom" in entry["exc"]


def test_registered_secret_is_redacted_in_message_args_extras_and_traceback() -> None:
    out = io.StringIO()
    cblog.setup_logging(Log(format="json"), stream=out)
    cblog.register_secret("s3cr3t-T0ken-value")
    cblog.register_secret("")  # ignored, not "redact everything"
    logger = logging.getLogger("agi_callbot.gateways")
    logger.info("sending with %s", "s3cr3t-T0ken-value")
    logger.info("plain", extra={"url": "https://x/?k=s3cr3t-T0ken-value"})
    try:
        raise RuntimeError("auth failed for s3cr3t-T0ken-value")
    except RuntimeError:
        logger.exception("gateway error")
    text = out.getvalue()
    assert "s3cr3t-T0ken-value" not in text
    entries = json_lines(out)
    assert entries[0]["msg"] == "sending with ***"
    assert entries[1]["url"] == "https://x/?k=***"
    assert "auth failed for ***" in entries[2]["exc"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Authorization: Bearer abcdef123456", "Authorization: Bearer ***"),
        ("Basic dXNlcjpwYXNz", "Basic ***"),
        ("https://api/x?user=a&password=hunter22&y=1", "https://api/x?user=a&password=***&y=1"),
        ('{"token": "zzz-123"}', '{"token": "***"}'),
        ("Secret: amipass", "Secret: ***"),
        ("nothing to hide here", "nothing to hide here"),
    ],
)
def test_credential_shapes_are_redacted_even_unregistered(raw: str, expected: str) -> None:
    assert cblog.redact(raw) == expected


def test_the_quick_test_before_the_credential_pattern_misses_nothing() -> None:
    """Text without any credential word skips the pattern: it must agree on every shape."""
    rng = random.Random(15)
    words = ["Bearer ", "BASIC ", "PassWord=", "passwd: '", "SECRET=", "Token=", "api_key: ",
             "ApiKey=", "access_token=", "auth_TOKEN:", "tokens", "basically", "x", " ", "'",
             '"', "=", ":", "abcdef123", "ſecret=", "İ", "ı", "K"]  # fmt: skip
    for _ in range(3000):
        text = "".join(rng.choice(words) for _ in range(rng.randint(1, 6)))
        slow = cblog._CREDENTIALS.sub(lambda m: (m["head"] or m["key"]) + cblog.REDACTED, text)
        assert cblog.redact(text) == slow, text


def test_longest_secret_wins_when_one_contains_another() -> None:
    cblog.register_secret("abc")
    cblog.register_secret("abcdef")
    assert cblog.redact("x abcdef y abc") == "x *** y ***"


def test_show_number_follows_full_numbers_setting() -> None:
    cblog.setup_logging(Log(format="json"), stream=io.StringIO())
    assert phone.show_number("+34600111222") == "+34600***222"
    cblog.setup_logging(Log(format="json", full_numbers=True), stream=io.StringIO())
    assert phone.show_number("+34600111222") == "+34600111222"


def test_level_and_format_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"log\.format"):
        cblog.setup_logging(Log(format="xml"), stream=io.StringIO())
    with pytest.raises(ConfigError, match=r"log\.level"):
        cblog.setup_logging(Log(level="LOUD"), stream=io.StringIO())
    out = io.StringIO()
    cblog.setup_logging(Log(format="json", level="warning"), stream=out)
    logging.getLogger("agi_callbot.x").info("hidden")
    logging.getLogger("agi_callbot.x").warning("shown")
    assert [e["msg"] for e in json_lines(out)] == ["shown"]
