"""Helpers for flow-model tests: write flow files into a temporary flows folder."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from agi_callbot.errors import FlowError
from agi_callbot.flow.loader import FlowLibrary, load_flow
from agi_callbot.flow.model import Flow


class Flows:
    """A temporary flows folder: write YAML, load it, list its errors."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.library = FlowLibrary(root)

    def write(self, name: str, text: str) -> Path:
        path = self.root / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def load(self, text: str, name: str = "t") -> Flow:
        return self.library.load(self.write(name, text), name)

    def errors(self, text: str, name: str = "t") -> list[tuple[int, int, str]]:
        """Every error of the file as (line, column, message)."""
        path = self.write(name, text)
        with pytest.raises(FlowError) as info:
            load_flow(path, name=name, flow_exists=self.library.exists)
        found = getattr(info.value, "errors", (info.value,))
        for error in found:
            assert error.file == str(path)
        return [(e.line, e.column, e.message) for e in found]


@pytest.fixture
def flows(tmp_path: Path) -> Flows:
    return Flows(tmp_path / "flows")
