"""Call records in a real SQLite file, and ``agi-callbot calls`` reading them back."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading

import pytest

from agi_callbot.cli import main
from agi_callbot.records import CallRecords, RecordError, normalize


def _record(uniqueid: str, started: float, **extra: object) -> dict[str, object]:
    return {
        "uniqueid": uniqueid,
        "flow": "soporte",
        "version": "abc123",
        "caller": "+34600111222",
        "started": started,
        "ended": started + 12.5,
        "status": "COMPLETED",
        "last_block": "goodbye",
        "path": ["welcome", "main_menu", "goodbye"],
        "transfers": [],
        "messages": [{"channel": "sms", "id": "m1"}],
        **extra,
    }


async def test_write_then_last_returns_newest_first(tmp_path):
    records = CallRecords(tmp_path / "sub" / "calls.sqlite")
    await records.open()
    try:
        await records.write(_record("1.1", 1000.0))
        await records.write(_record("1.3", 3000.0, status="HANGUP"))
        await records.write(_record("1.2", 2000.0))
        got = await records.last(2)
    finally:
        await records.aclose()
    assert [r["uniqueid"] for r in got] == ["1.3", "1.2"]
    assert got[0]["status"] == "HANGUP"
    assert got[1]["duration"] == 12.5
    assert got[1]["path"] == ["welcome", "main_menu", "goodbye"]
    assert got[1]["messages"] == [{"channel": "sms", "id": "m1"}]


async def test_records_survive_reopening(tmp_path):
    path = tmp_path / "calls.sqlite"
    first = CallRecords(path)
    await first.open()
    await first.write(_record("9.9", 5.0, custom={"nested": True}))
    await first.aclose()
    second = CallRecords(path)
    await second.open()
    try:
        (got,) = await second.last(10)
    finally:
        await second.aclose()
    assert got["uniqueid"] == "9.9"
    assert got["custom"] == {"nested": True}


async def test_writes_run_off_the_event_loop_thread(tmp_path, monkeypatch):
    records = CallRecords(tmp_path / "calls.sqlite")
    await records.open()
    seen: list[str] = []
    original = records._insert

    def spy(row):
        seen.append(threading.current_thread().name)
        original(row)

    monkeypatch.setattr(records, "_insert", spy)
    try:
        await records.write(_record("1", 1.0))
    finally:
        await records.aclose()
    assert seen and seen[0].startswith("call-records")
    assert seen[0] != threading.current_thread().name


async def test_write_before_open_is_a_clear_error(tmp_path):
    with pytest.raises(RecordError, match="not open"):
        await CallRecords(tmp_path / "calls.sqlite").write(_record("1", 1.0))


async def test_unusable_path_is_a_record_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(RecordError):
        await CallRecords(blocker / "calls.sqlite").open()


def test_normalize_fills_missing_fields_and_rejects_bad_lists():
    row = normalize({"uniqueid": "1", "flow": "f", "started": 10.0, "ended": 13.0})
    assert row["path"] == [] and row["caller"] == "" and row["duration"] == 3.0
    with pytest.raises(RecordError, match="path"):
        normalize({"uniqueid": "1", "path": "welcome"})


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "callbot.yaml"
    path.write_text("data_dir: var\n")
    return path


async def _fill(path, *records):
    store = CallRecords(path)
    await store.open()
    for record in records:
        await store.write(record)
    await store.aclose()


def test_calls_command_masks_numbers_and_limits(config, tmp_path, capsys):
    import asyncio

    asyncio.run(_fill(tmp_path / "var" / "calls.sqlite", _record("1", 1.0), _record("2", 2.0)))
    assert main(["--config", str(config), "calls", "--last", "1", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    got = json.loads(lines[0])
    assert got["uniqueid"] == "2"
    assert got["caller"] == "+34600***222"


def test_calls_command_text_and_full_numbers(config, tmp_path, capsys):
    import asyncio

    asyncio.run(
        _fill(
            tmp_path / "var" / "calls.sqlite",
            _record("1", 1.0, transfers=[{"target": "ventas", "outcome": "TIMEOUT"}]),
        )
    )
    assert main(["--config", str(config), "calls", "--full-numbers"]) == 0
    out = capsys.readouterr().out
    assert "soporte@abc123" in out
    assert "+34600111222" in out
    assert "welcome > main_menu > goodbye" in out
    assert "ventas=TIMEOUT" in out


def test_calls_command_filters_by_flow_and_status(config, tmp_path, capsys):
    import asyncio

    asyncio.run(
        _fill(
            tmp_path / "var" / "calls.sqlite",
            _record("1", 1.0),
            _record("2", 2.0, status="HANGUP"),
            _record("3", 3.0, flow="support", status="HANGUP"),
        )
    )
    args = ["--config", str(config), "calls", "--json", "--flow", "soporte", "--status", "hangup"]
    assert main(args) == 0
    assert [json.loads(line)["uniqueid"] for line in capsys.readouterr().out.splitlines()] == ["2"]


def test_calls_command_without_a_database(config, capsys):
    assert main(["--config", str(config), "calls"]) == 0
    assert capsys.readouterr().err.startswith("no calls yet (")


def test_calls_command_says_so_when_nothing_is_recorded_or_matches(config, tmp_path, capsys):
    asyncio.run(_fill(tmp_path / "var" / "calls.sqlite"))
    assert main(["--config", str(config), "calls"]) == 0
    captured = capsys.readouterr()
    assert (captured.out, captured.err.split(" (")[0]) == ("", "no calls yet")
    asyncio.run(_fill(tmp_path / "var" / "calls.sqlite", _record("1", 1.0)))
    assert main(["--config", str(config), "calls", "--status", "failed"]) == 0
    assert capsys.readouterr().err.startswith("no calls with status FAILED (")


async def test_calls_ending_in_one_turn_share_one_transaction(tmp_path, monkeypatch):
    records = CallRecords(tmp_path / "calls.sqlite")
    await records.open()
    batches: list[int] = []
    original = records._insert_rows

    def spy(rows):
        batches.append(len(rows))
        return original(rows)

    monkeypatch.setattr(records, "_insert_rows", spy)
    try:
        await asyncio.gather(*(records.write(_record(f"1.{n}", float(n))) for n in range(1, 6)))
        await records.write(_record("2.1", 10.0))
        stored = await records.last(10)
    finally:
        await records.aclose()
    assert batches == [5, 1]
    assert [r["uniqueid"] for r in stored] == ["2.1", "1.5", "1.4", "1.3", "1.2", "1.1"]


async def test_a_row_that_fails_fails_alone(tmp_path, monkeypatch):
    records = CallRecords(tmp_path / "calls.sqlite")
    await records.open()
    original = records._insert

    def picky(row):
        if row["uniqueid"] == "1.2":
            raise sqlite3.OperationalError("disk I/O error")
        original(row)

    monkeypatch.setattr(records, "_insert", picky)
    try:
        outcomes = await asyncio.gather(
            *(records.write(_record(f"1.{n}", float(n))) for n in range(1, 4)),
            return_exceptions=True,
        )
        stored = await records.last(10)
    finally:
        await records.aclose()
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], RecordError) and "disk I/O error" in str(outcomes[1])
    assert [r["uniqueid"] for r in stored] == ["1.3", "1.1"]


async def test_a_record_written_as_the_store_closes_is_kept(tmp_path):
    path = tmp_path / "calls.sqlite"
    records = CallRecords(path)
    await records.open()
    writing = asyncio.ensure_future(records.write(_record("1.1", 1.0)))
    await asyncio.sleep(0)  # queued for this turn's batch, not yet handed to the thread
    await records.aclose()
    await writing
    again = CallRecords(path)
    await again.open()
    try:
        assert [r["uniqueid"] for r in await again.last(5)] == ["1.1"]
    finally:
        await again.aclose()
