"""Checks on a loaded flow that the schema cannot make: what would go wrong on a call.

The loader refuses what cannot run (syntax, types, missing references). Lint looks at
the flow as a graph and against the settings:

- ``unreachable``: a block no path from ``start`` (or ``on_error``) reaches (warning)
- ``no-exit-loop``: blocks that only lead to each other and cannot end the call — an
  error when nothing in the loop waits for the caller (it spins until ``max_steps``),
  a warning when a menu or collect is in it (only the caller hanging up ends it)
- ``menu-on-fail`` / ``collect-on-fail``: no ``on_fail`` — a caller who cannot make it
  through gets the default ending instead of a human (warning)
- ``transfer-no-answer``: no ``on_no_answer`` — the caller is hung up on when nobody
  picks up (warning)
- ``unknown-variable``: ``${x}`` or an expression reads a variable nothing sets
  (warning: query-string arguments can still set it; the call takes the error branch
  if it is missing). In ``on_hangup`` this is the classic ``${digits}`` never collected.
- ``whatsapp``: template not in ``settings.templates`` (or wrong language or
  parameter count), or free text outside the 24 h window (errors; warning when no
  registry is configured at all)
- ``music``: a hold-music class with no folder in ``moh_dir`` (warning: Asterisk then
  plays ``default``)
- ``sound``: ``play:`` of an absolute path with no such file (warning)
- ``hours-never-open``: an ``hours`` block whose week has no opening hour (warning)
- ``subflow``: with a library, a sub-flow that does not load (error: calls fail when
  they reach it) or sub-flows that call each other in a circle (warning: each turn
  nests deeper until ``max_steps``)
- ``start``: no ``start:`` key (note: says which block calls begin at; notes never
  fail ``validate``, not even with ``--strict``)
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agi_callbot.errors import FlowError
from agi_callbot.flow import model as m
from agi_callbot.flow.expr import ExprError, parse_template
from agi_callbot.whatsapp_templates import check_template

_ARG = re.compile(r"arg\d+")


@dataclass(frozen=True)
class Finding:
    severity: str  # error | warning | note
    rule: str
    message: str
    file: str
    line: int
    column: int
    block: str = ""

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line, self.column) if p)
        label = "" if self.severity == "error" else f"{self.severity}: "
        return f"{where}: {label}{self.message}"


class _Findings(list[Finding]):
    def __init__(self, flow: m.Flow) -> None:
        super().__init__()
        self.file = str(flow.path)

    def add(self, severity: str, rule: str, message: str, where: Any, block: str = "") -> None:
        line, column = getattr(where, "line", 0), getattr(where, "column", 0)
        self.append(Finding(severity, rule, message, self.file, line, column, block))


def lint(flow: m.Flow, settings: Any = None, library: Any = None) -> list[Finding]:
    """Every finding for ``flow``, in file order; ``settings`` enables the checks
    against templates and hold music, ``library`` (a FlowLibrary) those of sub-flows."""
    found = _Findings(flow)
    if not flow.start_given and flow.start in flow.blocks:
        found.add(
            "note",
            "start",
            f"no start: key: calls begin at the first block, {flow.start!r} "
            f"(write start: {flow.start} to say so)",
            flow.blocks[flow.start],
            flow.start,
        )
    if library is not None:
        _subflows(flow, library, found)
    _reachability(flow, found)
    _loops(flow, found)
    _fallbacks(flow, found)
    _variables(flow, found)
    for block, action in _all_actions(flow):
        if action.kind == "whatsapp":
            _whatsapp(action, block, settings, found)
    for block in flow.blocks.values():
        spec = block.spec
        if isinstance(spec, m.Transfer) and spec.music and settings is not None:
            moh = Path(settings.moh_dir)
            if moh.is_dir() and not (moh / spec.music).is_dir():
                found.add(
                    "warning",
                    "music",
                    f"hold music class {spec.music!r} has no folder "
                    f"in {moh} (Asterisk would play 'default')",
                    block,
                    block.name,
                )
        if isinstance(spec, m.Say) and spec.prompt.file and spec.prompt.file.startswith("/"):
            sound = Path(spec.prompt.file)
            if "${" not in spec.prompt.file and not any(sound.parent.glob(sound.name + ".*")):
                found.add(
                    "warning", "sound", f"no sound file {spec.prompt.file}.*", block, block.name
                )
    return sorted(found, key=lambda f: (f.line, f.column, f.rule))


# --------------------------------------------------------------------------- graph


def successors(flow: m.Flow, block: m.Block) -> list[str]:
    return [edge.target for edge in block.edges() if edge.target in flow.blocks]


def reachable(flow: m.Flow) -> set[str]:
    roots = [flow.start] + ([flow.on_error] if flow.on_error else [])
    seen: set[str] = set()
    stack = [r for r in roots if r in flow.blocks]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        stack.extend(successors(flow, flow.blocks[name]))
    return seen


def _reachability(flow: m.Flow, found: _Findings) -> None:
    seen = reachable(flow)
    for block in flow.blocks.values():
        if block.name not in seen:
            found.add(
                "warning",
                "unreachable",
                f"block {block.name!r} is never reached from start ({flow.start!r})",
                block,
                block.name,
            )


def can_end(block: m.Block) -> bool:
    """Whether the call can end (or leave the flow) at this block."""
    spec = block.spec
    if spec.terminal or isinstance(spec, m.Transfer | m.Subflow):
        return True  # a transfer ends the call when answered; a sub-flow may hang up
    if isinstance(spec, m.Menu | m.Collect) and spec.on_fail is None:
        return True
    if isinstance(spec, m.Hours | m.Goto | m.Menu):
        return False
    if isinstance(spec, m.Branch):
        return spec.default is None and block.next is None
    return block.next is None


def _components(flow: m.Flow) -> list[list[str]]:
    """Strongly connected components (Tarjan, iterative: flows can be long chains)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in flow.blocks:
        if root in index:
            continue
        work = [(root, iter(successors(flow, flow.blocks[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    out.append(component)
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(successors(flow, flow.blocks[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return out


def _loops(flow: m.Flow, found: _Findings) -> None:
    for component in _components(flow):
        members = set(component)
        first = flow.blocks[component[0]]
        if len(component) == 1 and first.name not in successors(flow, first):
            continue
        blocks = [flow.blocks[name] for name in flow.blocks if name in members]
        leaves = any(
            can_end(b) or any(t not in members for t in successors(flow, b)) for b in blocks
        )
        if leaves:
            continue
        names = ", ".join(b.name for b in blocks)
        waits = any(isinstance(b.spec, m.Menu | m.Collect) for b in blocks)
        if waits:
            found.add(
                "warning",
                "no-exit-loop",
                f"loop with no way out ({names}): only the caller hanging up ends it",
                blocks[0],
                blocks[0].name,
            )
        else:
            found.add(
                "error",
                "no-exit-loop",
                f"loop with no way out ({names}): the call "
                f"spins until max_steps ({flow.max_steps}) and fails",
                blocks[0],
                blocks[0].name,
            )


def _fallbacks(flow: m.Flow, found: _Findings) -> None:
    for block in flow.blocks.values():
        spec = block.spec
        if isinstance(spec, m.Menu) and not spec.on_fail:
            found.add(
                "warning",
                "menu-on-fail",
                f"menu {block.name!r} has no on_fail: a caller "
                "who gets it wrong is not handed to anyone",
                block,
                block.name,
            )
        if isinstance(spec, m.Collect) and not spec.on_fail:
            found.add(
                "warning",
                "collect-on-fail",
                f"collect {block.name!r} has no on_fail",
                block,
                block.name,
            )
        if isinstance(spec, m.Hours) and not any(spec.week):
            found.add(
                "warning",
                "hours-never-open",
                f"hours {block.name!r} is never open: no day of its week has opening hours",
                block,
                block.name,
            )
        if isinstance(spec, m.Transfer) and not spec.on_no_answer:
            found.add(
                "warning",
                "transfer-no-answer",
                f"transfer {block.name!r} has no on_no_answer: the call ends when nobody picks up",
                block,
                block.name,
            )


# --------------------------------------------------------------------------- variables


def _all_actions(flow: m.Flow) -> Iterator[tuple[m.Block | None, m.Action]]:
    """Every action with the block it hangs off (None: ``on_hangup``), fallbacks included."""

    def expand(
        block: m.Block | None, actions: tuple[m.Action, ...]
    ) -> Iterator[tuple[m.Block | None, m.Action]]:
        for action in actions:
            yield block, action
            yield from expand(block, getattr(action.spec, "fallback", ()))

    for block in flow.blocks.values():
        yield from expand(block, block.actions)
        spec = block.spec
        if isinstance(spec, m.Menu):
            for option in spec.options.values():
                yield from expand(block, option.actions)
        if isinstance(spec, m.Transfer):
            yield from expand(block, spec.on_hangup)
    yield from expand(None, flow.on_hangup)


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
    for _, action in _all_actions(flow):
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


def _variables(flow: m.Flow, found: _Findings) -> None:
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
    for block, action in _all_actions(flow):
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


# --------------------------------------------------------------------------- sub-flows


def _subflows(flow: m.Flow, library: Any, found: _Findings) -> None:
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


# --------------------------------------------------------------------------- whatsapp


def _whatsapp(action: m.Action, block: m.Block | None, settings: Any, found: _Findings) -> None:
    spec = action.spec
    assert isinstance(spec, m.WhatsApp)
    name = block.name if block else ""
    if spec.template is None:
        if not spec.window_open:
            found.add(
                "error",
                "whatsapp",
                "free-form WhatsApp text outside the 24 h window: a "
                "phone call does not open it; name an approved template",
                action,
                name,
            )
        return
    if settings is None:
        return  # no settings to check against (a library built without them)
    if not settings.templates:
        found.add(
            "warning",
            "whatsapp",
            f"WhatsApp template {spec.template!r} not checked: no "
            "template registry (settings.templates)",
            action,
            name,
        )
        return
    problem = check_template(settings, spec.template, spec.language, list(spec.params))
    if problem:
        found.add("error", "whatsapp", problem, action, name)
