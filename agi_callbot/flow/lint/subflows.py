"""The ``subflow`` rule: sub-flows that do not load, sub-flows that call each other."""

from __future__ import annotations

from typing import Any

from agi_callbot.errors import FlowError
from agi_callbot.flow import model as m
from agi_callbot.flow.lint.findings import Findings


def broken_subflows(flow: m.Flow, library: Any, found: Findings) -> None:
    for block in flow.blocks.values():
        spec = block.spec
        if not isinstance(spec, m.Subflow):
            continue
        try:
            sub = library.get(spec.flow)
        except FlowError as exc:
            found.add(
                "error", "subflow", f"subflow {spec.flow!r} does not load: {exc}", block, block.name
            )
            continue
        path = _cycle(library, sub, flow.name, [flow.name, sub.name])
        if path:
            found.add(
                "warning",
                "subflow",
                "sub-flows call each other in a circle: " + " → ".join(path),
                block,
                block.name,
            )


def _cycle(library: Any, flow: m.Flow, target: str, path: list[str]) -> list[str] | None:
    """A chain of sub-flow calls from ``flow`` back to ``target``, if there is one."""
    if flow.name == target:
        return path
    for name in flow.subflows():
        if name in path[1:]:
            continue
        try:
            sub = library.get(name)
        except FlowError:
            continue
        found = _cycle(library, sub, target, [*path, name])
        if found:
            return found
    return None
