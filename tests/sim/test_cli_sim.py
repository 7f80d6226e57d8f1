"""``agi-callbot simulate`` and ``agi-callbot test`` as an admin runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agi_callbot.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "callbot.yaml"
    path.write_text(f"flows_dir: {EXAMPLES / 'flows'}\ndata_dir: var\n")
    return str(path)


def test_simulate_prints_the_conversation(config, capsys):
    code = main(
        [
            "--config",
            config,
            "simulate",
            "soporte",
            "--dtmf",
            "wait:3,1",
            "--queue",
            "ventas=timeout",
            "--caller",
            "+34600111222",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "bot       Hola, gracias por llamar a Acme." in out
    assert "caller    1  → option" in out
    assert "transfer  team ventas" in out and "ventas: TIMEOUT" in out
    assert "message   whatsapp to +34600111222 skipped: no opt-in  [on_hangup]" in out
    assert "status: COMPLETED (goodbye_busy)" in out
    assert "path:   welcome > main_menu > sales > goodbye_busy" in out
    assert "AGI commands" not in out


def test_simulate_lists_the_agi_commands_for_hangup_at(config, capsys):
    assert main(["--config", config, "simulate", "soporte", "--commands"]) == 0
    out = capsys.readouterr().out
    assert '    1  SET VARIABLE "CALLBOT_STATUS" "FAILED"' in out
    assert "    2  ANSWER" in out


def test_simulate_json_hangup_at_and_opt_in(config, capsys):
    code = main(
        [
            "--config",
            config,
            "simulate",
            str(EXAMPLES / "flows" / "support.yaml"),
            "--json",
            "--hangup-at",
            "4",
            "--optin",
            "whatsapp",
        ]
    )
    got = json.loads(capsys.readouterr().out)
    assert code == 0
    assert got["flow"] == "support" and got["status"] == "HANGUP"
    assert got["variables"]["CALLBOT_STATUS"] == "HANGUP"
    assert got["hung_up_by"] == "caller"
    assert [m["status"] for m in got["messages"]] == ["queued"]
    assert got["commands"][0] == 'SET VARIABLE "CALLBOT_STATUS" "FAILED"'


def test_simulate_with_a_time_and_the_available_agents(config, capsys):
    code = main(
        [
            "--config",
            config,
            "simulate",
            "demo",
            "--at",
            "2026-11-25T10:00:00+01:00",
            "--dtmf",
            "wait:6,3",
            "--available",
            "sales=0",
            "--dial",
            "PJSIP/1001=BUSY",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "hours     open → tone" in out
    assert "sales: NOBODY" in out and "PJSIP/1001: BUSY" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "soporte", "--dtmf", "1,x"], "--dtmf: bad caller action 'x'"),
        (["simulate", "nope"], "no flow 'nope'"),
        (["simulate", "soporte", "--queue", "ventas"], "--queue: expected NAME=VALUE"),
        (["simulate", "demo", "--at", "yesterday"], "--at:"),
        (["simulate", "../etc/passwd"], "invalid flow name"),
    ],
)
def test_simulate_bad_input_is_a_clear_error(config, capsys, args, message):
    assert main(["--config", config, *args]) == 1
    assert message in capsys.readouterr().err


def test_test_command_passes_on_the_examples(config, capsys):
    assert main(["--config", config, "test", str(EXAMPLES / "flows" / "support.test.yaml")]) == 0
    assert capsys.readouterr().out.strip().endswith("4 passed, 0 failed")


def test_test_command_fails_with_a_diff(config, tmp_path, capsys):
    cases = tmp_path / "soporte.test.yaml"
    cases.write_text(
        """flow: soporte
cases:
  - name: wrong expectation
    dtmf: "wait:3,1"
    queues: {ventas: answer}
    expect:
      status: COMPLETED
      path: [welcome, main_menu, sales]
      transfers: [{target: ventas, outcome: TIMEOUT}]
"""
    )
    # the case file lives outside flows_dir: its flow is looked up next to it
    (tmp_path / "soporte.yaml").write_text((EXAMPLES / "flows" / "soporte.yaml").read_text())
    assert main(["--config", config, "test", str(cases)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "wrong expectation" in out
    assert "-COMPLETED" in out and "+TRANSFERRED" in out
    assert "-  outcome: TIMEOUT" in out and "+  outcome: ANSWER" in out
    assert "0 passed, 1 failed" in out


def test_test_command_reports_a_mistyped_key(config, tmp_path, capsys):
    cases = tmp_path / "x.test.yaml"
    cases.write_text("flow: soporte\ncases:\n  - name: a\n    dtfm: '1'\n")
    assert main(["--config", config, "test", str(cases)]) == 1
    assert "unknown key 'dtfm' (did you mean 'dtmf'?)" in capsys.readouterr().err


def test_test_command_without_cases(config, tmp_path, capsys):
    assert main(["--config", config, "test", str(tmp_path)]) == 1
    assert "no test cases found" in capsys.readouterr().err


PIN_FLOW = """\
flow: pin
language: en
voice: {engine: espeak-ng, voice: en}
start: ask
blocks:
  ask:
    collect: {prompt: "Type your PIN, then hash.", var: pin, min_digits: 4, max_digits: 8,
              timeout: 3s, on_fail: bye}
    next: bye
  bye:
    hangup: "Your PIN is ${pin}."
"""


@pytest.mark.parametrize("typed", ["0123#", "0,1,2,3,#", "wait:1,0123#"])
def test_simulate_takes_digits_as_the_caller_types_them(tmp_path, capsys, typed):
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "pin.yaml").write_text(PIN_FLOW)
    config = tmp_path / "callbot.yaml"
    config.write_text("flows_dir: flows\ndata_dir: var\n")
    assert main(["--config", str(config), "simulate", "pin", "--dtmf", typed, "--json"]) == 0
    transcript = json.loads(capsys.readouterr().out)
    assert transcript["path"] == ["ask", "bye"]
    assert "Your PIN is 0123." in json.dumps(transcript["events"])
    assert transcript["unused_dtmf"] == []


def test_a_case_s_digits_are_the_keys_as_typed_even_unquoted(tmp_path, capsys):
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "pin.yaml").write_text(PIN_FLOW)
    config = tmp_path / "callbot.yaml"
    config.write_text("flows_dir: flows\ndata_dir: var\n")
    # YAML reads a bare 0123 as the octal number 83: a case means the keys 0, 1, 2, 3
    (tmp_path / "flows" / "pin.test.yaml").write_text(
        "cases:\n"
        "  - {name: bare, dtmf: 0123, expect: {said: [Your PIN is 0123.]}}\n"
        "  - {name: with hash, dtmf: 4321#, expect: {said: [Your PIN is 4321.]}}\n"
        "  - {name: quoted, dtmf: '0007#', expect: {said: [Your PIN is 0007.]}}\n"
    )
    assert main(["--config", str(config), "test", str(tmp_path / "flows")]) == 0, (
        capsys.readouterr().out
    )
    assert "3 passed, 0 failed" in capsys.readouterr().out
