"""A picture of a flow: Graphviz DOT (→ svg/png with ``dot``) and Mermaid.

Each block is a node shaped by its kind and labelled with its name and first words;
edges carry the menu key, the branch condition or the outcome they stand for.
Fallback edges (``on_fail``, ``on_no_answer``, ``else``, ``closed``…) are dashed so the
happy path reads at a glance; blocks with actions list them; a block where the call
ends without a hang-up block points at an "end" node; unreachable blocks are grey.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from agi_callbot.errors import CallbotError
from agi_callbot.flow import model as m
from agi_callbot.flow.lint.paths import can_end, reachable

FALLBACK_LABELS = frozenset(
    {"on_fail", "on_no_answer", "on_nobody", "on_busy", "on_unavailable", "else", "closed",
     "holiday"}
)  # fmt: skip
MAX_TEXT = 40

_DOT_SHAPES = {
    "say": "box",
    "step": "box",
    "set": "note",
    "menu": "hexagon",
    "collect": "parallelogram",
    "transfer": "box3d",
    "hangup": "octagon",
    "return": "invhouse",
    "branch": "diamond",
    "hours": "diamond",
    "goto": "cds",
    "subflow": "component",
}
_MERMAID_SHAPES = {
    "menu": ("{{", "}}"),
    "collect": ("[/", "/]"),
    "transfer": ("[[", "]]"),
    "hangup": ("([", "])"),
    "return": (">", "]"),
    "branch": ("{", "}"),
    "hours": ("{", "}"),
    "subflow": ("[[", "]]"),
}


def summary(block: m.Block, language: str) -> list[str]:
    """The lines under a block's name: what it does, in a few words."""
    spec = block.spec
    lines: list[str] = []
    if isinstance(spec, m.Say):
        lines.append(
            f"play {spec.prompt.file}" if spec.prompt.file else _text(spec.prompt, language)
        )
    elif isinstance(spec, m.Menu | m.Collect):
        lines.append(_text(spec.prompt, language))
        if isinstance(spec, m.Collect):
            lines.append(f"→ ${{{spec.var}}} ({spec.min_digits}-{spec.max_digits} digits)")
    elif isinstance(spec, m.Transfer):
        lines.append(f"queue {spec.team}" if spec.team else f"dial {spec.agent}")
    elif isinstance(spec, m.Hangup) and spec.message:
        lines.append(_text(spec.message, language))
    elif isinstance(spec, m.SetBlock):
        lines.append(", ".join(spec.values.values))
    elif isinstance(spec, m.Hours):
        lines.append(spec.timezone)
    elif isinstance(spec, m.Subflow):
        lines.append(f"flow {spec.flow}")
    kinds = [a.kind for a in block.actions]
    if kinds:
        lines.append("actions: " + ", ".join(kinds))
    return [line for line in lines if line]


def _text(prompt: m.Prompt, language: str) -> str:
    if prompt.text is None:
        return prompt.file or ""
    return _short(prompt.text.get(language, language))


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _edges(block: m.Block) -> list[tuple[str, str, bool]]:
    """(label, target, dashed) for every edge; menu options that replay the menu too."""
    out = [(e.label, e.target, e.label in FALLBACK_LABELS) for e in block.edges()]
    if isinstance(block.spec, m.Menu):
        for option in block.spec.options.values():
            if option.goto is None:
                kinds = ", ".join(a.kind for a in option.actions)
                out.append((f"{option.digits}: {kinds}", block.name, False))
    if isinstance(block.spec, m.Branch):
        out = [(_short(label), target, dashed) for label, target, dashed in out]
    return out


def _ends(block: m.Block) -> bool:
    """The call takes the default ending here (hang-up blocks and transfers are drawn as
    ends themselves; a sub-flow with a next comes back)."""
    spec = block.spec
    if spec.terminal or isinstance(spec, m.Transfer):
        return False
    if isinstance(spec, m.Subflow):
        return block.next is None
    return can_end(block)


# --------------------------------------------------------------------------- DOT


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(flow: m.Flow) -> str:
    seen = reachable(flow)
    lines = [
        f"digraph {_dot_quote(flow.name)} {{",
        f"  label={_dot_quote(f'{flow.name} (version {flow.version})')};",
        "  labelloc=t;",
        '  node [fontname="Helvetica", fontsize=10, style=filled, fillcolor=white];',
        '  edge [fontname="Helvetica", fontsize=9];',
        '  "__start" [shape=circle, label="start", fillcolor="#ddffdd"];',
        f'  "__start" -> {_dot_quote(flow.start)};',
    ]
    ends = False
    for block in flow.blocks.values():
        label = "\n".join([block.name, *summary(block, flow.language)])
        attrs = [f"shape={_DOT_SHAPES.get(block.kind, 'box')}", f"label={_dot_quote(label)}"]
        if block.name not in seen:
            attrs += ['fillcolor="#eeeeee"', 'fontcolor="#888888"']
        lines.append(f"  {_dot_quote(block.name)} [{', '.join(attrs)}];")
        for label, target, dashed in _edges(block):
            edge = [] if label in ("next", "goto") else [f"label={_dot_quote(label)}"]
            edge += ["style=dashed"] if dashed else []
            suffix = f" [{', '.join(edge)}]" if edge else ""
            lines.append(f"  {_dot_quote(block.name)} -> {_dot_quote(target)}{suffix};")
        if _ends(block):
            ends = True
            lines.append(f'  {_dot_quote(block.name)} -> "__end";')
    if ends:
        lines.append('  "__end" [shape=doublecircle, label="end", fillcolor="#ffdddd"];')
    if flow.on_hangup:
        kinds = ", ".join(a.kind for a in flow.on_hangup)
        lines.append(f'  "__on_hangup" [shape=note, label={_dot_quote("on_hangup: " + kinds)}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- Mermaid


def _mermaid_text(text: str) -> str:
    return (
        text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    )


def to_mermaid(flow: m.Flow) -> str:
    ids = {name: f"b{i}" for i, name in enumerate(flow.blocks)}
    seen = reachable(flow)
    lines = ["flowchart TD", '  start(("start"))', f"  start --> {ids[flow.start]}"]
    ends = False
    for block in flow.blocks.values():
        label = "<br/>".join(_mermaid_text(t) for t in [block.name, *summary(block, flow.language)])
        opening, closing = _MERMAID_SHAPES.get(block.kind, ("[", "]"))
        lines.append(f'  {ids[block.name]}{opening}"{label}"{closing}')
        for edge_label, target, dashed in _edges(block):
            arrow = "-.->" if dashed else "-->"
            text = "" if edge_label in ("next", "goto") else f'|"{_mermaid_text(edge_label)}"|'
            lines.append(f"  {ids[block.name]} {arrow}{text} {ids[target]}")
        if _ends(block):
            ends = True
            lines.append(f"  {ids[block.name]} --> end_")
    if ends:
        lines.append('  end_(("end"))')
    if flow.on_hangup:
        kinds = ", ".join(a.kind for a in flow.on_hangup)
        lines.append(f'  on_hangup["on_hangup: {_mermaid_text(kinds)}"]')
    unreachable = [ids[name] for name in flow.blocks if name not in seen]
    if unreachable:
        lines.append("  classDef unreachable fill:#eee,color:#888")
        lines.append(f"  class {','.join(unreachable)} unreachable")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- files


FORMATS = ("svg", "png", "dot", "mmd")


def render(flow: m.Flow, output: Path) -> None:
    """Write the picture; the format is the file's extension (svg/png need ``dot``)."""
    fmt = output.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise CallbotError(f"unknown picture format {output.suffix!r}: use .svg, .png, .dot, .mmd")
    if fmt == "mmd":
        output.write_text(to_mermaid(flow), encoding="utf-8")
        return
    source = to_dot(flow)
    if fmt == "dot":
        output.write_text(source, encoding="utf-8")
        return
    dot = shutil.which("dot")
    if dot is None:
        raise CallbotError("Graphviz 'dot' is not installed: write .dot or .mmd instead")
    result = subprocess.run(
        [dot, f"-T{fmt}", "-o", str(output)],
        input=source.encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise CallbotError(f"dot failed: {result.stderr.decode(errors='replace').strip()}")
