"""The walls between the parts of agi_callbot, read from the imports of every module.

Every ``import`` counts, at module level or inside a function (and under
``TYPE_CHECKING``): a wall that only holds at import time does not hold. A part is a
top-level module or package of ``agi_callbot`` (``flow``, ``channel``, ``sim``…); the
package itself (``agi_callbot/__init__.py``: the version) is part of no wall.

- ``agi/`` is the sans-IO core: no asyncio or sockets, nothing above it;
- ``flow/`` knows no transport, simulator, gateway, router, app or command line;
- ``tts/``, ``outbox/`` and ``gateways/`` know no flow, AGI, transport, channel,
  session, simulator, router or app;
- only ``__main__`` imports ``cli``; only ``cli`` and ``console`` import ``sim`` (the
  engine never runs on the in-memory Asterisk);
- no cycle between parts;
- no module over 400 lines (:data:`MAX_LINES`): a longer one is split along the seams a
  reader looks for, not left to grow.

A failure names the module, the line and the import that break the wall (or the module
and its length).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "agi_callbot"

#: outside modules the sans-IO core may not use
OUTSIDE = {"asyncio", "socket", "socketserver", "selectors", "ssl", "subprocess"}
#: part -> parts (and outside modules) it may not import
WALLS: dict[str, set[str]] = {
    "agi": OUTSIDE | {
        "transport", "channel", "session", "sim", "flow", "router", "app", "cli", "console",
    },
    "flow": {"transport", "session", "sim", "gateways", "router", "app", "web", "cli", "console"},
    "transport": {"console"},
    "tts": {"flow", "agi", "transport", "channel", "session", "sim", "router", "app", "cli"},
    "outbox": {"flow", "agi", "transport", "channel", "session", "sim", "router", "app", "cli"},
    "gateways": {"flow", "agi", "transport", "channel", "session", "sim", "router", "app", "cli"},
}  # fmt: skip
#: parts only these may import (besides themselves): the simulator stays out of the engine
ONLY_FROM: dict[str, set[str]] = {"cli": {"__main__"}, "sim": {"cli", "console"}}
#: the longest a module of the package may be, in lines
MAX_LINES = 400


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    line: int
    target: str  # the imported module, dotted (absolute)

    def __str__(self) -> str:
        return f"{self.module} (line {self.line}) imports {self.target}"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path) -> Iterator[Import]:
    """Every import in ``path``, anywhere in the file, as absolute dotted names."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                # ``from agi_callbot import log``: the submodule, when there is one
                candidate = f"{source}.{alias.name}"
                yield Import(
                    name, node.lineno, candidate if _is_module(candidate, root) else source
                )


def _is_module(dotted: str, root: Path) -> bool:
    top, _, rest = dotted.partition(".")
    if top != root.name or not rest:
        return False
    path = root.joinpath(*rest.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def part_of(dotted: str, root: Path) -> str | None:
    """The part a dotted name belongs to; ``None`` for the package itself."""
    top, _, rest = dotted.partition(".")
    if top != root.name:
        return top  # an outside module: asyncio, socket, yaml…
    return rest.split(".")[0] or None


def all_imports(root: Path) -> list[Import]:
    return [i for path in sorted(root.rglob("*.py")) for i in imports_of(path, root)]


def wall_breaches(root: Path) -> list[str]:
    breaches = []
    for imp in all_imports(root):
        source, target = part_of(imp.module, root), part_of(imp.target, root)
        if source is None or target is None or source == target:
            continue
        if target in WALLS.get(source, set()):
            breaches.append(f"{imp}: {source}/ may not import {target}")
        allowed = ONLY_FROM.get(target)
        if allowed is not None and source not in allowed:
            breaches.append(f"{imp}: only {', '.join(sorted(allowed))} may import {target}")
    return breaches


def part_cycles(root: Path) -> list[str]:
    """One message per cycle between parts, each edge with an import that makes it."""
    edges: dict[str, dict[str, Import]] = {}
    for imp in all_imports(root):
        source, target = part_of(imp.module, root), part_of(imp.target, root)
        inside = target is not None and _is_part(target, root)
        if source is not None and inside and source != target:
            edges.setdefault(source, {}).setdefault(target, imp)  # type: ignore[arg-type]
    cycles, seen = [], set()
    for start in sorted(edges):
        for cycle in _cycles_from(start, edges):
            key = frozenset(cycle)
            if key in seen:
                continue
            seen.add(key)
            hops = [edges[a][b] for a, b in zip(cycle, [*cycle[1:], cycle[0]], strict=True)]
            path = " -> ".join([*cycle, cycle[0]])
            cycles.append(f"cycle {path}: " + "; ".join(str(h) for h in hops))
    return cycles


def _is_part(name: str, root: Path) -> bool:
    return (root / f"{name}.py").is_file() or (root / name / "__init__.py").is_file()


def _cycles_from(start: str, edges: dict[str, dict[str, Import]]) -> Iterator[list[str]]:
    """Simple cycles through ``start`` whose other parts sort after it (each once)."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    while stack:
        node, path = stack.pop()
        for nxt in sorted(edges.get(node, {})):
            if nxt == start:
                yield path
            elif nxt > start and nxt not in path:
                stack.append((nxt, [*path, nxt]))


def long_modules(root: Path, limit: int = MAX_LINES) -> list[str]:
    """One message per module over ``limit`` lines: its path and its length."""
    out = []
    for path in sorted(root.rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            out.append(f"{path.relative_to(root.parent).as_posix()}: {lines} lines")
    return out


# -- the tree as it is ------------------------------------------------------------------


def test_every_wall_holds() -> None:
    breaches = wall_breaches(PACKAGE)
    assert not breaches, "walls broken:\n" + "\n".join(breaches)


def test_no_cycle_between_parts() -> None:
    cycles = part_cycles(PACKAGE)
    assert not cycles, "parts import each other:\n" + "\n".join(cycles)


def test_no_module_is_over_400_lines() -> None:
    long = long_modules(PACKAGE)
    assert not long, f"modules over {MAX_LINES} lines (split them):\n" + "\n".join(long)


def test_the_walls_name_parts_that_exist() -> None:
    """A renamed part must not leave a wall guarding nothing."""
    named = set(WALLS) | set(ONLY_FROM) | {p for ps in ONLY_FROM.values() for p in ps}
    named |= {p for ps in WALLS.values() for p in ps if p not in OUTSIDE}
    assert sorted(p for p in named if not _is_part(p, PACKAGE)) == []


# -- the checker itself catches what it must ----------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "agi_callbot"
    for name, text in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {
                "agi/__init__.py": "",
                "agi/core.py": "def f():\n    import asyncio\n",
            },
            "agi_callbot.agi.core (line 2) imports asyncio: agi/ may not import asyncio",
        ),
        (
            {
                "flow/__init__.py": "",
                "flow/lint.py": "from ..gateways import whatsapp\n",
                "gateways/__init__.py": "",
                "gateways/whatsapp.py": "",
            },
            "agi_callbot.flow.lint (line 1) imports agi_callbot.gateways.whatsapp:"
            " flow/ may not import gateways",
        ),
        (
            {"cli/__init__.py": "", "app.py": "from agi_callbot import cli\n"},
            "agi_callbot.app (line 1) imports agi_callbot.cli: only __main__ may import cli",
        ),
    ],
)
def test_a_broken_wall_names_the_module_and_the_import(
    tmp_path: Path, files: dict[str, str], expected: str
) -> None:
    assert expected in wall_breaches(_tree(tmp_path, files))


def test_a_cycle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "flow/__init__.py": "",
            "flow/cases.py": "def run():\n    from agi_callbot.router import pin\n",
            "router.py": "from agi_callbot.flow import cases\n",
        },
    )
    assert part_cycles(root) == [
        "cycle flow -> router -> flow: agi_callbot.flow.cases (line 2) imports"
        " agi_callbot.router; agi_callbot.router (line 1) imports agi_callbot.flow.cases"
    ]


def test_a_module_over_the_limit_is_named_with_its_length(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "flow/__init__.py": "",
            "flow/model.py": "x = 1\n" * 401,
            "flow/expr.py": "x = 1\n" * 400,  # at the limit: fine
            "channel/__init__.py": "\n" * 300 + "x = 1",  # no newline at the end
            "channel/deadlines.py": "y = 2\n" * 500,
        },
    )
    assert long_modules(root) == [
        "agi_callbot/channel/deadlines.py: 500 lines",
        "agi_callbot/flow/model.py: 401 lines",
    ]
    assert long_modules(root, limit=300) == [
        "agi_callbot/channel/__init__.py: 301 lines",
        "agi_callbot/channel/deadlines.py: 500 lines",
        "agi_callbot/flow/expr.py: 400 lines",
        "agi_callbot/flow/model.py: 401 lines",
    ]
