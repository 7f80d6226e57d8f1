"""The ``unknown-variable`` rule: what a flow reads against what sets it."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from agi_callbot.flow import model as m
from agi_callbot.flow.expr import ExprError, parse_template
from agi_callbot.flow.lint.actions import all_actions
from agi_callbot.flow.lint.findings import Findings

_ARG = re.compile(r"arg\d+")


def assigned(flow: m.Flow) -> set[str]:
    """Variables the flow itself sets: declared, ``set``, ``collect``, webhook ``save_as``."""
    names = set(flow.variables)
    for block in flow.blocks.values():
        spec = block.spec
        if isinstance(spec, m.SetBlock):
            names.update(spec.values.values)
        elif isinstance(spec, m.Collect):
            names.add(spec.var)
        elif isinstance(spec, m.Subflow):
            names.update(spec.vars)
    for _, action in all_actions(flow):
        if isinstance(action.spec, m.SetVars):
            names.update(action.spec.values)
        elif isinstance(action.spec, m.Webhook) and action.spec.save_as:
            names.add(action.spec.save_as)
    return names


def read(value: Any) -> set[str]:
    """Variables a model value reads: every template string and condition inside it
    (actions excluded: each is checked on its own, at its own line)."""
    if isinstance(value, m.Condition):
        return set(value.expr.variables())
    if isinstance(value, str):
        try:
            return set(parse_template(value).variables())
        except ExprError:
            return set()
    if isinstance(value, Mapping):
        return {name for item in value.values() for name in read(item)}
    if isinstance(value, tuple | list):
        return {name for item in value for name in read(item)}
    if dataclasses.is_dataclass(value) and not isinstance(value, m.Action | m.Block | type):
        return {n for f in dataclasses.fields(value) for n in read(getattr(value, f.name))}
    return set()


_DECLARE = " (declare it under variables: if the call's arguments set it)"


def _known(name: str, names: set[str]) -> bool:
    return name in names or name in m.BUILTIN_VARIABLES or bool(_ARG.fullmatch(name))


def unknown_variables(flow: m.Flow, found: Findings) -> None:
    names = assigned(flow)
    for block in flow.blocks.values():
        for name in sorted(read(block.spec)):  # actions are read below, with their position
            if not _known(name, names):
                found.add(
                    "warning",
                    "unknown-variable",
                    f"block {block.name!r} reads ${{{name}}}, which nothing sets{_DECLARE}",
                    block,
                    block.name,
                )
    for block, action in all_actions(flow):
        for name in sorted(read(action.spec) | read(action.when)):
            if _known(name, names):
                continue
            where = "on_hangup" if block is None else f"block {block.name!r}"
            found.add(
                "warning",
                "unknown-variable",
                f"{action.kind} action in {where} reads ${{{name}}}, which nothing sets{_DECLARE}",
                action,
                block.name if block else "",
            )
