"""``agi-callbot validate`` and ``agi-callbot graph``: check flows and draw them.

``validate`` prints one line per problem, ``file:line:col: message`` (warnings say
``warning:``), the form editors and CI annotate; it exits 1 when any flow has an
error (with ``--strict``, a warning too). A PATH is a flow file, a folder (every flow
in it) or a flow name under ``flows_dir``; with none, every flow in ``flows_dir``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from agi_callbot.cli import command
from agi_callbot.config import Settings, load_settings
from agi_callbot.errors import FlowError
from agi_callbot.flow.graph import FORMATS, render
from agi_callbot.flow.lint import lint
from agi_callbot.flow.loader import FlowLibrary, check_name, locate
from agi_callbot.flow.model import Flow


def register(subparsers: Any) -> None:
    p = command(
        subparsers,
        "validate",
        "check flow files: errors as file:line:col, then warnings and notes",
        """\
Check flows before callers meet them. Errors (unknown keys, wrong types, a block that
does not exist) come first, one per line as file:line:col: message, the form editors
and CI annotate; then what would go wrong on a call (warning: a menu without
on_fail, a variable nothing sets, an unreachable block...) and notes. A flow with an
error is never loaded by a running node. Exit status 1 when any flow has an error
(with --strict, a warning too). PATH is a flow file, a folder (every *.yaml in it;
*.test.yaml test cases are skipped) or a flow name under flows_dir; with none, every
flow in flows_dir.""",
        """\
agi-callbot --config callbot.yaml validate
agi-callbot --config callbot.yaml validate flows/soporte.yaml flows/ventas/
agi-callbot --config callbot.yaml validate --strict flows/*.yaml   # in CI""",
    )
    p.add_argument(
        "paths", nargs="*", metavar="PATH", help="flow files, folders or names (default: flows_dir)"
    )
    p.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")
    p.set_defaults(func=cmd_validate)

    p = command(
        subparsers,
        "graph",
        "draw a flow's blocks and where each leads (svg, png, dot or mmd)",
        """\
Draw FLOW: one box per block, one arrow per way out (menu keys, on_fail, open/closed,
branch conditions, next). The output file's extension picks the format: .svg and
.png need Graphviz (dot); .dot is Graphviz source; .mmd is Mermaid (paste it into a
wiki or a pull request).""",
        """\
agi-callbot --config callbot.yaml graph soporte -o /tmp/soporte.svg
agi-callbot --config callbot.yaml graph flows/ventas/campana.yaml -o campana.mmd""",
    )
    p.add_argument("flow", metavar="FLOW", help="a flow name under flows_dir, or a file")
    p.add_argument(
        "-o", "--output", type=Path, required=True,
        help=f"picture file to write; the extension picks the format ({', '.join(FORMATS)})",
    )  # fmt: skip
    p.set_defaults(func=cmd_graph)


def flow_files(paths: list[str], settings: Settings) -> list[Path]:
    """Files named by PATH arguments: files, folders (recursively), or flow names."""
    paths_given = bool(paths)
    if not paths:
        paths = [str(settings.flows_dir)]
    files: list[Path] = []
    for arg in paths:
        path = Path(arg)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.yaml") if not p.name.endswith(".test.yaml"))
            if not found:
                raise FlowError(f"no flow files (*.yaml) under {arg}")
            files.extend(found)
        elif path.is_file() and path.name.endswith(".test.yaml"):
            continue  # test cases beside the flows (a shell glob picks them up): `test` runs them
        elif path.is_file():
            files.append(path)
        elif path.suffix in (".yaml", ".yml") or not paths_given:
            raise FlowError(f"no such file or folder: {arg}")
        else:
            files.append(Path(settings.flows_dir) / f"{check_name(arg)}.yaml")
    return [_shown(path) for path in files]


def _shown(path: Path) -> Path:
    """Paths under the working directory are shown relative to it, as editors expect."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def load(path: Path, settings: Settings) -> tuple[Flow, FlowLibrary]:
    """The flow in ``path`` and the library its sub-flows are named from."""
    root, name = locate(path, settings.flows_dir)
    library = FlowLibrary(root, defaults=settings.defaults, max_steps=settings.flows.max_steps)
    return library.load(path, name), library


def cmd_validate(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    settings = load_settings(args.config)
    files = flow_files(args.paths, settings)
    broken = warned = 0
    for path in files:
        try:
            flow, library = load(path, settings)
        except FlowError as exc:
            broken += 1
            for error in getattr(exc, "errors", (exc,)):
                print(error if error.file else f"{path}: {error}", file=out)
            continue
        findings = lint(flow, settings, library)
        for finding in findings:
            print(finding, file=out)
        if any(f.severity == "error" for f in findings):
            broken += 1
        elif any(f.severity == "warning" for f in findings):
            warned += 1
    print(
        f"{len(files)} flow(s): {broken} with errors, {warned} with warnings only",
        file=sys.stderr,
    )
    return 1 if broken or (args.strict and warned) else 0


def cmd_graph(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    settings = load_settings(args.config)
    (path,) = flow_files([args.flow], settings)
    try:
        flow, _ = load(path, settings)
    except FlowError as exc:
        for error in getattr(exc, "errors", (exc,)):
            print(error, file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    render(flow, args.output)
    print(f"{args.output} ({flow.name}, version {flow.version})", file=out)
    return 0
