"""``agi-callbot validate`` and ``graph`` through the real command-line entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agi_callbot.cli import main

GOOD = """flow: soporte
blocks:
  menu:
    menu: {prompt: "Pulse 1", options: {"1": sales}, on_fail: sales}
  sales:
    transfer: {team: ventas, music: ventas, on_no_answer: outro}
  outro: {subflow: common/outro}
on_hangup:
  - whatsapp: {template: encuesta, params: ["${caller_name}"]}
start: menu
"""
OUTRO = "flow: common/outro\nblocks:\n  bye: {hangup: 'Adiós'}\nstart: bye\n"
WARNED = "flow: warned\nblocks:\n  a: {say: hola}\n  orphan: {say: nadie}\nstart: a\n"
BROKEN = "flow: broken\nblocks:\n  a: {say: hola, nxt: b}\n  b: {goto: nowhere}\nstart: a\n"


@pytest.fixture
def site(tmp_path: Path, monkeypatch) -> Path:
    """A settings file with flows, a template registry and hold music, as admins lay it out."""
    (tmp_path / "flows" / "common").mkdir(parents=True)
    (tmp_path / "moh" / "ventas").mkdir(parents=True)
    (tmp_path / "flows" / "soporte.yaml").write_text(GOOD)
    (tmp_path / "flows" / "common" / "outro.yaml").write_text(OUTRO)
    (tmp_path / "callbot.yaml").write_text(
        "flows_dir: flows\nmoh_dir: moh\ntemplates:\n  encuesta: {language: es, params: 1}\n"
    )
    monkeypatch.delenv("CALLBOT_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> int:
    return main(["--config", "callbot.yaml", *args])


def test_validate_all_flows_clean(site: Path, capsys) -> None:
    assert run("validate") == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "2 flow(s): 0 with errors, 0 with warnings only\n"


def test_validate_by_name_and_by_path(site: Path, capsys) -> None:
    assert run("validate", "soporte", "common/outro", "flows/common/outro.yaml") == 0
    assert "3 flow(s): 0 with errors" in capsys.readouterr().err


def test_test_case_files_named_by_a_glob_are_skipped_quietly(site: Path, capsys) -> None:
    (site / "flows" / "soporte.test.yaml").write_text("flow: soporte\ncases: []\n")
    assert run("validate", "flows/soporte.yaml", "flows/soporte.test.yaml") == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "1 flow(s): 0 with errors, 0 with warnings only\n"


def test_a_flow_without_start_gets_a_note_that_never_fails(site: Path, capsys) -> None:
    (site / "flows" / "nostart.yaml").write_text("flow: nostart\nblocks:\n  hi: {hangup: Hola}\n")
    assert run("validate", "--strict", "nostart") == 0
    captured = capsys.readouterr()
    assert captured.out == (
        f"{Path('flows/nostart.yaml')}:3:3: note: no start: key: calls begin at the first "
        "block, 'hi' (write start: hi to say so)\n"
    )
    assert captured.err == "1 flow(s): 0 with errors, 0 with warnings only\n"


def test_errors_and_warnings_as_file_line_col(site: Path, capsys) -> None:
    (site / "flows" / "warned.yaml").write_text(WARNED)
    (site / "flows" / "broken.yaml").write_text(BROKEN)
    assert run("validate") == 1
    captured = capsys.readouterr()
    flows = Path("flows")
    assert captured.out.splitlines() == [
        f"{flows / 'broken.yaml'}:3:18: unknown key 'nxt' in block 'a' (did you mean 'next'?)",
        f"{flows / 'broken.yaml'}:4:13: goto: no block 'nowhere'",
        f"{flows / 'warned.yaml'}:4:3: warning: block 'orphan' is never reached from start ('a')",
    ]
    assert captured.err == "4 flow(s): 1 with errors, 1 with warnings only\n"


def test_strict_fails_on_warnings(site: Path, capsys) -> None:
    (site / "flows" / "warned.yaml").write_text(WARNED)
    assert run("validate", "warned") == 0
    assert run("validate", "--strict", "warned") == 1


def test_lint_uses_the_settings(site: Path, capsys) -> None:
    (site / "callbot.yaml").write_text(
        "flows_dir: flows\nmoh_dir: moh\ntemplates:\n  otra: {language: es, params: 0}\n"
    )
    assert run("validate", "soporte") == 1
    out = capsys.readouterr().out
    assert f"{Path('flows/soporte.yaml')}:9:5: WhatsApp template 'encuesta' is not in" in out


def test_a_file_outside_flows_dir_finds_its_subflows(site: Path, capsys) -> None:
    other = site / "elsewhere" / "common"
    other.mkdir(parents=True)
    (other / "outro.yaml").write_text(OUTRO)
    (site / "elsewhere" / "soporte.yaml").write_text(GOOD)
    assert run("validate", "elsewhere/soporte.yaml", "elsewhere/common/outro.yaml") == 0
    (other / "outro.yaml").unlink()
    assert run("validate", "elsewhere/soporte.yaml") == 1
    assert "subflow: no flow 'common/outro'" in capsys.readouterr().out


def test_bad_arguments(site: Path, capsys) -> None:
    assert run("validate", "../etc") == 1
    assert "invalid flow name '../etc'" in capsys.readouterr().err
    assert run("validate", "missing.yaml") == 1
    assert "no such file or folder: missing.yaml" in capsys.readouterr().err
    assert run("validate", "nope") == 1
    assert "cannot read flow" in capsys.readouterr().out


def test_no_flows_is_an_error(site: Path, capsys) -> None:
    (site / "empty").mkdir()
    assert run("validate", "empty") == 1
    assert "no flow files (*.yaml) under empty" in capsys.readouterr().err
    (site / "callbot.yaml").write_text("flows_dir: nowhere\n")
    assert run("validate") == 1
    assert "no such file or folder: " in capsys.readouterr().err


def test_graph(site: Path, capsys) -> None:
    assert run("graph", "soporte", "-o", "soporte.svg") == 0
    assert "<svg" in (site / "soporte.svg").read_text()
    assert run("graph", "flows/soporte.yaml", "-o", "soporte.mmd") == 0
    assert (site / "soporte.mmd").read_text().startswith("flowchart TD\n")
    out = capsys.readouterr().out
    assert "soporte.mmd (soporte, version " in out
    (site / "flows" / "broken.yaml").write_text(BROKEN)
    assert run("graph", "broken", "-o", "b.svg") == 1
    assert not (site / "b.svg").exists()
    assert run("graph", "soporte", "-o", "x.gif") == 1
    assert "unknown picture format '.gif'" in capsys.readouterr().err


def test_console_entry_point(site: Path) -> None:
    (site / "flows" / "broken.yaml").write_text(BROKEN)
    result = subprocess.run(
        [sys.executable, "-m", "agi_callbot", "--config", "callbot.yaml", "validate", "broken"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].endswith(
        "broken.yaml:3:18: unknown key 'nxt' in block 'a' (did you mean 'next'?)"
    )
