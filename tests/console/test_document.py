"""Round-trip edits keep the admin's file: comments, order, quoting, layout."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from agi_callbot.console.document import EditError, FlowDocument
from agi_callbot.console.starters import STARTERS, template_text
from agi_callbot.flow.loader import load_flow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "flows"
STARTER_DIR = Path(__file__).resolve().parents[2] / "agi_callbot" / "console" / "starters"


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


@pytest.mark.parametrize("flow", ["soporte", "support", "demo"])
def test_untouched_file_is_byte_identical(flow):
    text = (EXAMPLES / f"{flow}.yaml").read_text()
    document = FlowDocument(text)
    document.apply([])
    assert document.text() == text


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (["blocks", "main_menu", "menu", "timeout"], "7s", "      timeout: 7s"),
        (["blocks", "welcome", "say"], "Hola de nuevo", '    say: "Hola de nuevo"'),
        (["blocks", "sales", "transfer", "music"], "campana", None),  # inside a flow mapping
        (["blocks", "main_menu", "menu", "retries"], 3, "      retries: 3"),
    ],
)
def test_one_field_edit_changes_one_line(path, value, expected):
    text = (EXAMPLES / "soporte.yaml").read_text()
    document = FlowDocument(text)
    document.apply([{"op": "set", "path": path, "value": value}])
    changes = changed_lines(text, document.text())
    assert len(changes) == 2, changes  # one line out, one line in
    if expected:
        assert changes[1] == "+" + expected
    assert document.text().startswith("# Atención al cliente de Acme")


def test_rename_block_references_follow():
    text = (EXAMPLES / "soporte.yaml").read_text()
    document = FlowDocument(text)
    document.apply([{"op": "rename_block", "name": "goodbye_busy", "new_name": "nadie"}])
    out = document.text()
    assert "goodbye_busy" not in out and "  nadie:" in out
    flow = load_flow(EXAMPLES / "soporte.yaml", content=out.encode())
    assert flow.blocks["sales"].spec.on_nobody == "nadie"
    assert list(flow.blocks).index("nadie") == list(
        load_flow(EXAMPLES / "soporte.yaml").blocks
    ).index("goodbye_busy")


def test_rename_to_an_existing_name_is_refused():
    document = FlowDocument((EXAMPLES / "soporte.yaml").read_text())
    with pytest.raises(EditError, match="already exists"):
        document.apply([{"op": "rename_block", "name": "sales", "new_name": "support"}])


def test_delete_block_drops_optional_references():
    text = (EXAMPLES / "soporte.yaml").read_text()
    document = FlowDocument(text)
    document.apply([{"op": "delete_block", "name": "send_link"}])
    flow = load_flow(EXAMPLES / "soporte.yaml", content=document.text().encode())
    assert "send_link" not in flow.blocks
    assert "2" not in flow.blocks["main_menu"].spec.options


def test_add_block_and_action():
    text = (EXAMPLES / "soporte.yaml").read_text()
    document = FlowDocument(text)
    document.apply(
        [
            {"op": "add_block", "name": "aviso", "value": {"say": "Un aviso", "next": "goodbye"}},
            {"op": "append", "path": ["blocks", "aviso", "actions"],
             "value": {"sms": {"to": "${caller}", "from": "+34910000000", "text": "Hola"}}},
        ]
    )  # fmt: skip
    flow = load_flow(EXAMPLES / "soporte.yaml", content=document.text().encode())
    assert flow.blocks["aviso"].actions[0].spec.sender == "+34910000000"
    assert document.text().startswith(text.split("blocks:")[0])


def test_invalid_yaml_is_an_error_with_its_line():
    with pytest.raises(EditError) as caught:
        FlowDocument("flow: x\nblocks:\n  a: [\n")
    assert caught.value.line >= 3


def test_field_at_maps_lines_to_paths():
    text = (EXAMPLES / "soporte.yaml").read_text()
    line = text.splitlines().index("      timeout: 5s") + 1
    assert FlowDocument(text).field_at(line) == "blocks.main_menu.menu.timeout"


def test_starters_match_the_examples_and_load():
    for example in ("soporte", "support"):
        assert (STARTER_DIR / f"{example}.yaml").read_text() == (
            EXAMPLES / f"{example}.yaml"
        ).read_text()
    for starter in STARTERS:
        text = template_text(starter, "mine")
        flow = load_flow(Path("mine.yaml"), content=text.encode())
        assert flow.name == "mine"
