"""Whatever a flow file holds, loading it returns a Flow or raises FlowError — nothing else."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agi_callbot.errors import FlowError
from agi_callbot.flow import model as m
from agi_callbot.flow.loader import (
    _COLLECT_KEYS,
    _MENU_KEYS,
    _TRANSFER_KEYS,
    BLOCK_KEYS,
    TOP_KEYS,
    load_flow,
)

NAMES = ["a", "b", "main", "t"]
WORDS = sorted(
    {*TOP_KEYS, *BLOCK_KEYS, *_MENU_KEYS, *_COLLECT_KEYS, *_TRANSFER_KEYS, *m.ACTION_KINDS,
     "to", "text", "template", "params", "url", "body", "if", "goto", "else", "week", "open",
     "closed", "holidays", "mon-fri", "sat", "expr", "channel", "1", "#", "*", "es", "en"}
    | set(NAMES)
)  # fmt: skip
TRICKY = [
    "5s", "2m", "0", "-1", "10h", "x", "#", "*", "${caller}", "${", "$${x}", "09:00-14:00",
    "24:00-01:00", "mon-fri", "PJSIP/1001", "a == 1", "(", "12-25", "2026-02-30", "es", "t",
    "../x", "http://x", "a@b.c", "Europe/Madrid", "true",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 100_000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(TRICKY + NAMES + WORDS),
    st.dates(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(WORDS) | st.integers(0, 12), inner, max_size=5),
    ),
    max_leaves=25,
)
blocks = st.dictionaries(
    st.sampled_from(NAMES), st.dictionaries(st.sampled_from(WORDS), values, max_size=4), max_size=4
)
flows = st.fixed_dictionaries(
    {"flow": st.sampled_from(["t", "x", 1]), "blocks": blocks},
    optional={key: values for key in TOP_KEYS if key not in ("flow", "blocks")},
)


def _load(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "t.yaml"
    path.write_bytes(content)
    try:
        flow = load_flow(path, flow_exists=lambda name: name == "a")
    except FlowError as exc:
        assert exc.file == str(path)
        assert str(exc)
        return
    assert isinstance(flow, m.Flow)
    for block in flow.blocks.values():
        for edge in block.edges():
            assert edge.target in flow.blocks  # a loaded flow has no dangling reference


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flows)
def test_structured_garbage(tmp_path: Path, data: dict) -> None:
    _load(tmp_path, yaml.safe_dump(data, allow_unicode=True).encode())


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_bytes_garbage(tmp_path: Path, content: bytes) -> None:
    _load(tmp_path, content)


SAMPLE = b"""flow: t
blocks:
  a:
    say: {es: "Hola ${caller}", en: "Hi"}
    actions: [{sms: {text: "x", from: "+34910000000"}, when: "a == 1"}]
    next: b
  b:
    menu: {prompt: p, options: {"1": a, "2": {goto: b}}, timeout: 5s, terminator: "#"}
  t:
    hours: {week: {mon-fri: "09:00-14:00"}, holidays: ["12-25"], open: a, closed: b}
on_hangup: [{whatsapp: {template: x, params: ["${caller}"]}}]
"""


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(st.integers(0, len(SAMPLE)), st.integers(0, 3), st.binary(max_size=3)),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_flow(tmp_path: Path, edits: list[tuple[int, int, bytes]]) -> None:
    content = SAMPLE
    for position, cut, insert in edits:
        content = content[:position] + insert + content[position + cut :]
    _load(tmp_path, content)
