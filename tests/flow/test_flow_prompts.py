"""The texts of a flow that ``prompts build`` renders, read from the loaded flow model,
with the prompt ids, languages and voices the runner uses."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from agi_callbot.config import Settings
from agi_callbot.errors import FlowError
from agi_callbot.flow.model import prompt_id
from agi_callbot.flow.prompts import find_flows, flow_prompts, prompts_of

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
      options: {"1": handoff}
      no_input: "No le oigo."
      invalid: "No válido."
  handoff:
    transfer: {team: ventas, announce: "Le paso."}
    actions:
      - email: {to: a@b.c, subject: s, body: "never spoken"}
    next: bye
  bye:
    hangup: {message: "Adiós ${caller_name}."}
  tone:
    play: custom/beep
on_hangup:
  - sms: {to: "${caller}", text: "not spoken either"}
"""


def test_flow_prompts(flows) -> None:
    prompts = {(p.prompt_id, p.language): p for p in flow_prompts(flows.load(FLOW, "ventas"))}
    assert sorted(prompts) == [
        ("bye", "es"),
        ("handoff.announce", "es"),
        ("menu", "en"),
        ("menu", "es"),
        ("menu.invalid", "es"),
        ("menu.no_input", "es"),
        ("welcome", "es"),
    ]
    welcome = prompts[("welcome", "es")]
    assert welcome.voice == {"engine": "espeak-ng", "voice": "es", "rate": 150}
    assert welcome.flow == "ventas" and welcome.block == "welcome"
    assert prompts[("menu", "en")].text == "Press one."
    assert prompts[("menu", "es")].voice == {"engine": "espeak-ng", "voice": "es"}
    assert prompts[("bye", "es")].dynamic
    assert not welcome.dynamic
    assert prompts[("menu.invalid", "es")].where == "ventas:menu.invalid [es]"
    assert [prompts[(i, "es")].key for i in ("welcome", "menu", "handoff.announce", "bye")] == [
        "say",
        "prompt",
        "announce",
        "message",
    ]


def test_prompt_id() -> None:
    assert prompt_id("welcome", "say") == "welcome"
    assert prompt_id("main_menu", "prompt") == "main_menu"
    assert prompt_id("main_menu", "invalid") == "main_menu.invalid"


def test_a_flow_that_does_not_validate_lists_nothing(tmp_path: Path, settings: Settings) -> None:
    config = dataclasses.replace(settings, flows_dir=tmp_path)
    (tmp_path / "bad.yaml").write_text("flow: bad\nblocks:\n  a:\n    say: [unclosed\n")
    with pytest.raises(FlowError) as info:
        prompts_of(config, ["bad"])
    assert info.value.file.endswith("bad.yaml") and info.value.line >= 4
    (tmp_path / "bad.yaml").write_text("flow: bad\nblocks:\n  a: {goto: nowhere}\n")
    with pytest.raises(FlowError, match="nowhere"):
        prompts_of(config, [])


def test_prompts_of_every_flow_in_the_folder(tmp_path: Path, settings: Settings) -> None:
    config = dataclasses.replace(settings, flows_dir=tmp_path)
    (tmp_path / "common").mkdir()
    (tmp_path / "main.yaml").write_text(
        "flow: main\nlanguage: en\nblocks:\n  hi: {say: Hello., next: more}\n"
        "  more: {subflow: common/outro}\n"
    )
    (tmp_path / "common" / "outro.yaml").write_text(
        "flow: common/outro\nlanguage: en\nblocks:\n  bye: {hangup: {message: Bye.}}\n"
    )
    found = {(p.flow, p.prompt_id, p.text) for p in prompts_of(config, [])}
    assert found == {("main", "hi", "Hello."), ("common/outro", "bye", "Bye.")}


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
    with pytest.raises(FlowError):
        find_flows(tmp_path, ["../a"])
