"""``agi-callbot outbox list|retry|purge|work`` through ``agi_callbot.cli.main``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from outbox_loopback import ProviderServer, ScriptedGateway

from agi_callbot.cli import main
from agi_callbot.config import load_settings
from agi_callbot.errors import GatewayError
from agi_callbot.outbox.service import Outbox
from agi_callbot.services import Message


def write_config(tmp_path: Path, **extra: str) -> Path:
    lines = [f"data_dir: {tmp_path / 'var'}", "log: {format: text, full_numbers: false}"]
    lines += [f"{k}: {v}" for k, v in extra.items()]
    path = tmp_path / "callbot.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def fill(config: Path) -> dict[str, str]:
    """Three messages: one sent, one failed, one queued, and one skipped."""
    gateways = {"sms": ScriptedGateway("sms", [GatewayError("invalid To", retryable=False)])}
    outbox = Outbox.from_settings(load_settings(config, environ={}), gateways)
    await outbox.open()
    ids = {
        "failed": await outbox.enqueue(Message("sms", "+34600111222", {"text": "a"}), "a"),
        "sent": await outbox.enqueue(
            Message("sms", "+34600333444", {"text": "b"}, call_uniqueid="1700.3"), "b"
        ),
    }
    await outbox.run_once()
    assert await outbox.delivery_status("sms-2", "delivered")
    ids["queued"] = await outbox.enqueue(Message("sms", "+34600555666", {"text": "c"}), "c")
    ids["skipped"] = await outbox.enqueue(Message("sms", "anonymous", {"text": "d"}), "d")
    await outbox.aclose()
    return ids


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path)


def test_list_masks_numbers_and_filters(config: Path, capsys) -> None:
    ids = asyncio.run(fill(config))
    assert main(["--config", str(config), "outbox", "list"]) == 0
    out = capsys.readouterr().out
    assert "+34600***222" in out and "+34600111222" not in out
    assert "invalid To" in out and "anonymous caller" in out
    assert "sent/delivered" in out
    assert main(["--config", str(config), "outbox", "list", "--status", "failed", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(d["id"], d["status"], d["to"]) for d in lines] == [
        (ids["failed"], "failed", "+34600***222")
    ]
    assert main(["--config", str(config), "outbox", "list", "--call", "1700.3", "--json"]) == 0
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == [
        ids["sent"]
    ]
    assert main(["--config", str(config), "outbox", "list", "--status", "dead"]) == 0
    assert capsys.readouterr().out == "no messages with status dead\n"


def test_list_shows_full_numbers_when_the_settings_say_so(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path)
    asyncio.run(fill(config))
    config.write_text(config.read_text().replace("full_numbers: false", "full_numbers: true"))
    assert main(["--config", str(config), "outbox", "list", "--limit", "10"]) == 0
    assert "+34600111222" in capsys.readouterr().out


def test_retry_by_id_and_all_failed(config: Path, capsys) -> None:
    ids = asyncio.run(fill(config))
    assert main(["--config", str(config), "outbox", "retry", ids["sent"]]) == 1
    assert "not retried" in capsys.readouterr().err
    assert main(["--config", str(config), "outbox", "retry", ids["failed"]]) == 0
    assert f"queued again: {ids['failed']}" in capsys.readouterr().out
    assert main(["--config", str(config), "outbox", "retry", "--all-failed"]) == 0
    assert "0 messages queued again" in capsys.readouterr().out
    assert main(["--config", str(config), "outbox", "list", "--status", "queued", "--json"]) == 0
    queued = {json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()}
    assert queued == {ids["failed"], ids["queued"]}


def test_purge_deletes_old_finished_messages(config: Path, capsys) -> None:
    asyncio.run(fill(config))
    assert main(["--config", str(config), "outbox", "purge", "--older-than", "30d"]) == 0
    assert capsys.readouterr().out.startswith("0 messages deleted")
    time.sleep(0.01)
    args = ["--config", str(config), "outbox", "purge", "--older-than", "0s", "--status", "sent"]
    assert main(args) == 0
    assert capsys.readouterr().out.startswith("1 messages deleted (sent")
    assert main(["--config", str(config), "outbox", "list", "--json"]) == 0
    left = sorted(json.loads(line)["status"] for line in capsys.readouterr().out.splitlines())
    assert left == ["failed", "queued", "skipped"]


@pytest.mark.parametrize("age", ["soon", "-3d", "30x"])
def test_purge_refuses_a_bad_age(config: Path, age: str, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--config", str(config), "outbox", "purge", f"--older-than={age}"])
    assert exc.value.code == 2
    assert "not an age" in capsys.readouterr().err


def test_work_once_delivers_with_the_configured_gateways(config: Path, capsys) -> None:
    ids = asyncio.run(fill(config))
    assert main(["--config", str(config), "outbox", "work", "--once"]) == 0
    assert main(["--config", str(config), "outbox", "list", "--json"]) == 0
    rows = {
        json.loads(line)["id"]: json.loads(line) for line in capsys.readouterr().out.splitlines()
    }
    queued = rows[ids["queued"]]
    assert (queued["status"], queued["provider_id"]) == ("sent", "dry-run")


def test_bad_store_setting_is_a_clear_error(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path, outbox="{store: 'mysql://x'}")
    assert main(["--config", str(config), "outbox", "list"]) == 2  # a configuration error
    assert "outbox.store" in capsys.readouterr().err


def test_unreachable_postgres_is_a_clear_error(tmp_path: Path, capsys) -> None:
    config = write_config(
        tmp_path,
        outbox="{store: 'postgresql://callbot:outbox-test-pw@127.0.0.1:1/callbot', "
        "enqueue_timeout: 0.2s}",
    )
    assert main(["--config", str(config), "outbox", "list"]) == 1
    err = capsys.readouterr().err
    assert "did not answer" in err and "127.0.0.1:1" in err and "outbox-test-pw" not in err


async def _start_work(config: Path) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agi_callbot", "--config", str(config), "outbox", "work",
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    async with asyncio.timeout(30):
        while b"outbox workers running" not in await proc.stderr.readline():
            pass
    return proc


async def test_outbox_work_killed_mid_send_delivers_after_restart(
    tmp_path: Path, provider: ProviderServer
) -> None:
    """The real command and the real webhook gateway: kill -9 while the provider holds
    the request; the lease (send_timeout + 5 s) expires; the restarted command sends
    it again with the same Idempotency-Key; SIGTERM then stops it cleanly."""
    config = write_config(
        tmp_path,
        outbox="{workers: 2, send_timeout: 1s}",
        gateways=f"{{webhook: {{url: '{provider.url}'}}, sms: {{url: 'http://127.0.0.1:1/sms'}}}}",
    )
    outbox = Outbox.from_settings(load_settings(config, environ={}), {})
    await outbox.open()
    message = Message("webhook", "", {"data": {"caller": "+34600111222"}}, call_uniqueid="1700.9")
    id = await outbox.enqueue(message, "1700.9/end/0")
    provider.hold = True
    work = await _start_work(config)
    await provider.wait_for(1)
    os.kill(work.pid, signal.SIGKILL)
    await work.wait()
    assert (await outbox.get(id)).status == "sending"
    provider.release()
    work = await _start_work(config)
    async with asyncio.timeout(30):
        while (await outbox.get(id)).status != "sent":
            await asyncio.sleep(0.05)
    work.send_signal(signal.SIGTERM)
    assert await work.wait() == 0
    assert work.stderr is not None
    assert b"the sms provider is not reachable now" in await work.stderr.read()
    assert [r.key for r in provider.requests] == ["1700.9/end/0", "1700.9/end/0"]
    assert "+34600111222" in json.dumps(provider.requests[0].body)  # the gateway's body
    assert (await outbox.get(id)).attempts == 2
    await outbox.aclose()
