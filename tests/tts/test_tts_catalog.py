"""The texts of a flow that ``prompts build`` renders (and the prompt ids of recordings)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agi_callbot.errors import FlowError
from agi_callbot.tts.catalog import find_flows, flow_prompts, prompt_id

FLOW = """\
flow: ventas
language: es
voice: {engine: espeak-ng, voice: es}
blocks:
  welcome:
    say: "Bienvenido."
    voice: {rate: 150}
    next: menu
  menu:
    menu:
      prompt: {es: "Pulse uno.", en: "Press one."}
      options: {"1": bye}
      no_input: "No le oigo."
      invalid: "No válido."
  handoff:
    transfer: {team: ventas, announce: "Le paso."}
    actions:
      - email: {to: a@b.c, message: "never spoken"}
  bye:
    hangup: {message: "Adiós ${caller_name}."}
on_hangup:
  - sms: {to: "${caller}", text: "not spoken either"}
"""


def test_flow_prompts(tmp_path: Path) -> None:
    path = tmp_path / "ventas.yaml"
    path.write_text(FLOW, encoding="utf-8")
    prompts = {(p.block, p.key, p.language): p for p in flow_prompts(path, "en")}
    assert sorted(prompts) == [
        ("bye", "message", "es"),
        ("handoff", "announce", "es"),
        ("menu", "invalid", "es"),
        ("menu", "no_input", "es"),
        ("menu", "prompt", "en"),
        ("menu", "prompt", "es"),
        ("welcome", "say", "es"),
    ]
    welcome = prompts[("welcome", "say", "es")]
    assert welcome.voice == {"engine": "espeak-ng", "voice": "es", "rate": 150}
    assert welcome.prompt_id == "welcome" and welcome.flow == "ventas"
    assert prompts[("menu", "no_input", "es")].prompt_id == "menu.no_input"
    assert prompts[("menu", "prompt", "en")].text == "Press one."
    assert prompts[("bye", "message", "es")].dynamic
    assert not welcome.dynamic
    assert prompts[("menu", "invalid", "es")].where == "ventas:menu.invalid [es]"


def test_prompt_id() -> None:
    assert prompt_id("welcome", "say") == "welcome"
    assert prompt_id("main_menu", "prompt") == "main_menu"
    assert prompt_id("main_menu", "invalid") == "main_menu.invalid"


def test_yaml_error_has_a_position(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("flow: bad\nblocks:\n  a:\n    say: [unclosed\n")
    with pytest.raises(FlowError) as info:
        flow_prompts(path, "es")
    assert info.value.file == str(path) and info.value.line >= 4
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(FlowError, match="must be a mapping"):
        flow_prompts(tmp_path / "list.yaml", "es")


def test_find_flows(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("a.yaml", "sub/b.yaml", "a.test.yaml"):
        (tmp_path / name).write_text("flow: x\n")
    assert find_flows(tmp_path, []) == [tmp_path / "a.yaml", tmp_path / "sub" / "b.yaml"]
    assert find_flows(tmp_path, ["sub/b"]) == [tmp_path / "sub" / "b.yaml"]
    assert find_flows(tmp_path, [str(tmp_path / "a.yaml")]) == [tmp_path / "a.yaml"]
    assert find_flows(tmp_path / "missing", []) == []
    with pytest.raises(FlowError, match="no flow 'nope'"):
        find_flows(tmp_path, ["nope"])
