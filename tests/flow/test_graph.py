"""Flow pictures: DOT and Mermaid text, and real svg/png through Graphviz's dot."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from agi_callbot.errors import CallbotError
from agi_callbot.flow.graph import render, to_dot, to_mermaid

FLOW = """
flow: g
blocks:
  welcome:
    say: 'Dice "hola" \\ y <adiós> & más texto que no cabe en una línea corta'
    next: menu
  menu:
    menu:
      prompt: "Pulse 1"
      options:
        "1": sales
        "2": {actions: [{sms: {text: enlace}}]}
      on_fail: check
  check:
    branch: [{if: "caller == ''", goto: bye}, {else: sales}]
  sales:
    transfer: {team: ventas, on_no_answer: note}
  note: {say: "Le llamaremos"}
  bye: {hangup: null}
  orphan: {goto: bye}
on_hangup: [{webhook: {url: "https://x"}}]
"""

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")


def test_dot_nodes_edges_and_styles(flows) -> None:
    dot = to_dot(flows.load(FLOW, "g"))
    assert dot.startswith('digraph "g" {\n')
    assert '"__start" -> "welcome";' in dot
    assert '"welcome" -> "menu";' in dot  # next: no label
    assert '"menu" -> "sales" [label="1"];' in dot
    assert '"menu" -> "menu" [label="2: sms"];' in dot  # option with actions only
    assert '"menu" -> "check" [label="on_fail", style=dashed];' in dot
    assert '"check" -> "bye" [label="caller == \'\'"];' in dot
    assert '"check" -> "sales" [label="else", style=dashed];' in dot
    assert '"sales" -> "note" [label="on_no_answer", style=dashed];' in dot
    assert '"note" -> "__end";' in dot  # runs out of blocks: the default ending
    assert '"bye" -> "__end"' not in dot  # a hangup block is its own end
    assert '"sales" [shape=box3d' in dot and '"menu" [shape=hexagon' in dot
    assert '"orphan" [shape=cds, label="orphan", fillcolor="#eeeeee"' in dot
    assert 'label="welcome\\nDice \\"hola\\" \\\\ y <adiós> & más texto que…"' in dot
    assert '"__on_hangup" [shape=note, label="on_hangup: webhook"];' in dot


@needs_dot
def test_dot_output_is_valid_graphviz(flows) -> None:
    result = subprocess.run(
        ["dot", "-Tcanon"],
        input=to_dot(flows.load(FLOW, "g")).encode(),
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert b"orphan" in result.stdout


@needs_dot
def test_svg_and_png(flows, tmp_path: Path) -> None:
    flow = flows.load(FLOW, "g")
    svg, png = tmp_path / "g.svg", tmp_path / "g.png"
    render(flow, svg)
    render(flow, png)
    titles = {t.text for t in ET.parse(svg).getroot().iter("{http://www.w3.org/2000/svg}title")}
    assert {"welcome", "menu", "check", "sales", "note", "bye", "orphan"} <= titles
    assert "menu&#45;&gt;sales" in svg.read_text() or "menu->sales" in titles
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_dot_and_mermaid_files(flows, tmp_path: Path) -> None:
    flow = flows.load(FLOW, "g")
    render(flow, tmp_path / "g.dot")
    render(flow, tmp_path / "g.mmd")
    assert (tmp_path / "g.dot").read_text() == to_dot(flow)
    assert (tmp_path / "g.mmd").read_text() == to_mermaid(flow)
    with pytest.raises(CallbotError, match=r"unknown picture format '\.jpg'"):
        render(flow, tmp_path / "g.jpg")


def test_mermaid(flows) -> None:
    text = to_mermaid(flows.load(FLOW, "g"))
    lines = text.splitlines()
    assert lines[:3] == ["flowchart TD", '  start(("start"))', "  start --> b0"]
    assert (
        '  b0["welcome<br/>Dice #quot;hola#quot; \\ y #lt;adiós#gt; #amp; más texto que…"]' in lines
    )
    assert '  b1{{"menu<br/>Pulse 1"}}' in lines
    assert '  b1 -->|"1"| b3' in lines
    assert '  b1 -->|"2: sms"| b1' in lines
    assert '  b1 -.->|"on_fail"| b2' in lines
    assert '  b2{"check"}' in lines
    assert '  b3[["sales<br/>queue ventas"]]' in lines
    assert "  b4 --> end_" in lines and '  end_(("end"))' in lines
    assert "  class b6 unreachable" in lines
