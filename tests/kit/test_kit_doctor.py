"""``agi-callbot doctor`` on real parts: example flows, a temp data dir, the fake AMI server."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from agi_callbot.cli import main
from agi_callbot.cli.doctor import diagnose
from agi_callbot.cli.doctor.report import FAIL, OK, SKIP, WARN, Check, report
from agi_callbot.config import load_settings

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "asterisk"))
from fake_ami import FakeAmi, FakeMember, FakeQueue  # noqa: E402

FLOWS = ROOT / "examples" / "flows"
TEAMS = ("ventas", "soporte", "sales", "support")
CLASSES_OUTPUT = ["Class: default", "\tMode: files", *(f"Class: {t}" for t in TEAMS)]


def config(tmp_path: Path, **extra) -> Path:
    data = {
        "flows_dir": str(FLOWS),
        "data_dir": str(tmp_path / "var"),
        "moh_dir": str(ROOT / "sounds" / "moh"),
        **extra,
    }
    path = tmp_path / "callbot.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


@pytest.fixture
async def asterisk():
    queues = {t: FakeQueue([FakeMember("A", "PJSIP/1001")]) for t in TEAMS}
    server = FakeAmi(queues=queues, allow_command=True, cli={"moh show classes": CLASSES_OUTPUT})
    await server.start()
    yield server
    await server.stop()


def ami_settings(tmp_path, port, monkeypatch, secret="callbot"):
    monkeypatch.setenv("DOCTOR_TEST_AMI", secret)
    ami = {"enabled": True, "port": port, "secret_env": "DOCTOR_TEST_AMI", "timeout": "1s"}
    return load_settings(config(tmp_path, ami=ami), environ={})


async def test_healthy_deployment(tmp_path, asterisk, monkeypatch):
    settings = ami_settings(tmp_path, asterisk.port, monkeypatch)
    checks = by_name(await diagnose(settings, timeout=5, asterisk_conf=ROOT / "asterisk-conf"))
    assert checks["flows"].status == OK and "soporte" in checks["flows"].detail
    assert checks["ami"].status == OK
    for team in TEAMS:
        assert checks[f"queue {team}"].status == OK
        assert "1 available" in checks[f"queue {team}"].detail
    assert checks["moh classes"].status == OK
    assert checks["queues.conf"].status == OK and checks["musiconhold.conf"].status == OK
    assert checks["pjsip.conf"].status == OK and "PJSIP/1001" in checks["pjsip.conf"].detail
    assert checks["gateway sms"].status == WARN  # no provider configured: dry-run
    assert not [c for c in checks.values() if c.status == FAIL]


async def test_missing_queue_and_class_on_asterisk_fail(tmp_path, asterisk, monkeypatch):
    del asterisk.queues["support"]
    asterisk.cli["moh show classes"] = ["Class: default", "Class: ventas"]
    checks = by_name(await diagnose(ami_settings(tmp_path, asterisk.port, monkeypatch)))
    assert checks["queue support"].status == FAIL
    assert "no such queue" in checks["queue support"].detail
    assert checks["queue ventas"].status == OK
    moh = checks["moh classes"]
    assert moh.status == FAIL and "sales, soporte, support" in moh.detail


async def test_queue_without_members_is_a_warning(tmp_path, asterisk, monkeypatch):
    asterisk.queues["sales"].members.clear()
    checks = by_name(await diagnose(ami_settings(tmp_path, asterisk.port, monkeypatch)))
    assert checks["queue sales"].status == WARN


async def test_moh_classes_not_checked_without_the_command_class(tmp_path, asterisk, monkeypatch):
    asterisk.allow_command = False
    checks = by_name(await diagnose(ami_settings(tmp_path, asterisk.port, monkeypatch)))
    assert checks["moh classes"].status == SKIP
    assert "write = command" in checks["moh classes"].detail


async def test_rejected_login(tmp_path, asterisk, monkeypatch):
    asterisk.fail_delay = 0.01
    settings = ami_settings(tmp_path, asterisk.port, monkeypatch, secret="wrong")
    checks = by_name(await diagnose(settings, timeout=2))
    assert checks["ami"].status == FAIL and "Authentication failed" in checks["ami"].detail
    assert "queue ventas" not in checks


async def test_ami_unreachable(tmp_path, monkeypatch):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    checks = by_name(await diagnose(ami_settings(tmp_path, port, monkeypatch), timeout=0.5))
    assert checks["ami"].status == FAIL and "connection refused" in checks["ami"].detail


async def test_secret_variable_unset(tmp_path, monkeypatch):
    monkeypatch.delenv("DOCTOR_TEST_UNSET", raising=False)
    ami = {"enabled": True, "secret_env": "DOCTOR_TEST_UNSET"}
    settings = load_settings(config(tmp_path, ami=ami), environ={})
    check = by_name(await diagnose(settings))["ami"]
    assert check.status == FAIL and "DOCTOR_TEST_UNSET" in check.detail


async def test_broken_flow_unwritable_data_dir_and_missing_tools(tmp_path, monkeypatch):
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "bad.yaml").write_text("flow: bad\nstart: nowhere\nblocks: {}\n", encoding="utf-8")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    settings = load_settings(
        config(tmp_path, flows_dir=str(flows), data_dir=str(blocker / "var")), environ={}
    )
    monkeypatch.setenv("PATH", str(tmp_path))
    checks = by_name(await diagnose(settings))
    assert checks["flows"].status == FAIL and "bad.yaml" in checks["flows"].detail
    assert checks["data dir"].status == FAIL
    assert checks["sox"].status == FAIL and checks["espeak-ng"].status == FAIL
    assert checks["ami"].status == SKIP


async def test_conf_files_missing_a_queue(tmp_path, monkeypatch):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "queues.conf").write_text("[ventas]\n[soporte]\n", encoding="utf-8")
    (conf / "musiconhold.conf").write_text("[default]\nmode = files\n", encoding="utf-8")
    (conf / "pjsip.conf").write_text("[1002]\ntype = endpoint\n", encoding="utf-8")
    settings = load_settings(config(tmp_path), environ={})
    checks = by_name(await diagnose(settings, asterisk_conf=conf))
    assert checks["queues.conf"].status == FAIL
    assert checks["queues.conf"].detail == "queues missing: sales, support"
    assert checks["musiconhold.conf"].status == FAIL
    assert checks["pjsip.conf"].detail == "agents missing: PJSIP/1001"


def test_cli_table_and_exit_status(tmp_path, capsys):
    assert main(["--config", str(config(tmp_path)), "doctor"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["CHECK", "STATUS", "DETAIL"]
    assert "no problems found." in out
    bad = config(tmp_path, flows_dir=str(tmp_path / "nowhere"))
    assert main(["--config", str(bad), "doctor", "--json"]) == 1
    rows = [yaml.safe_load(line) for line in capsys.readouterr().out.splitlines()]
    assert {"name": "flows", "status": FAIL}.items() <= {**rows[1]}.items()


def test_cli_reports_a_bad_settings_file(tmp_path, capsys):
    path = tmp_path / "callbot.yaml"
    path.write_text("listen: {port: many}\n", encoding="utf-8")
    assert main(["--config", str(path), "doctor"]) == 1
    assert "listen.port" in capsys.readouterr().out


def test_report_counts_problems():
    import io

    out = io.StringIO()
    report([Check("a", OK, "fine"), Check("bb", FAIL, "broken")], out)
    assert out.getvalue().endswith("1 problem(s) found.\n")
    assert "bb  FAIL    broken" in out.getvalue()
