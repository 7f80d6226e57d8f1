"""The example flows pass ``validate`` with their settings, and every one can be drawn."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agi_callbot.cli import main
from agi_callbot.flow.graph import render
from agi_callbot.flow.loader import FlowLibrary

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
pytestmark = pytest.mark.skipif(
    not (EXAMPLES / "flows").is_dir(), reason="examples/flows/ is not there yet"
)


def test_examples_validate_clean(capsys, monkeypatch) -> None:
    monkeypatch.delenv("CALLBOT_CONFIG", raising=False)
    code = main(["--config", str(EXAMPLES / "callbot.yaml"), "validate"])
    captured = capsys.readouterr()
    assert code == 0, captured.out
    assert captured.out == ""  # no warnings either
    assert "0 with errors, 0 with warnings only" in captured.err


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")
def test_every_example_renders(tmp_path: Path) -> None:
    library = FlowLibrary(EXAMPLES / "flows")
    names = library.names()
    assert {"soporte", "support"} <= set(names)
    for name in names:
        flow = library.get(name)
        out = tmp_path / f"{name.replace('/', '_')}.svg"
        render(flow, out)
        text = out.read_text()
        for block in flow.blocks:
            assert f"<title>{block}</title>" in text, (name, block)
