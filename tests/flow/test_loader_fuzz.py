"""Whatever a flow file holds, loading it returns a Flow or raises FlowError — nothing else."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agi_callbot.errors import FlowError
from agi_callbot.flow import model as m
from agi_callbot.flow.graph import to_dot, to_mermaid
from agi_callbot.flow.lint import lint
from agi_callbot.flow.loader import load_flow
from agi_callbot.flow.parse import BLOCK_KEYS, TOP_KEYS
from agi_callbot.flow.parse.blocks import _COLLECT_KEYS, _MENU_KEYS, _TRANSFER_KEYS

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
    lint(flow)  # what validate does next must not crash either
    to_dot(flow)
    to_mermaid(flow)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
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


# --------------------------------------------------------------------------- valid flows

BLOCK_NAMES = [f"b{i}" for i in range(6)]
targets = st.sampled_from(BLOCK_NAMES)
texts = st.sampled_from(["Hola", "Hola ${caller}", "Pulse ${n:-1}", "¿Qué tal? «bien»"])
durations = st.sampled_from(["1s", "30s", "1m", 5, 1.5])
actions_list = st.lists(
    st.one_of(
        st.fixed_dictionaries({"sms": st.fixed_dictionaries({"text": texts})}),
        st.fixed_dictionaries({"optin": st.just({"channel": "whatsapp"})}),
        st.fixed_dictionaries({"set": st.just({"n": {"expr": "n + 1"}})}),
        st.fixed_dictionaries({"webhook": st.just({"url": "https://x/${caller}"})}),
    ),
    max_size=2,
)
specs = st.one_of(
    st.fixed_dictionaries({"say": texts}),
    st.fixed_dictionaries({"play": st.just("custom/x")}),
    st.fixed_dictionaries({"goto": targets}),
    st.fixed_dictionaries({"hangup": st.one_of(st.none(), texts)}),
    st.fixed_dictionaries({"return": st.none()}),
    st.fixed_dictionaries({"set": st.just({"n": 1, "m": "${caller}"})}),
    st.fixed_dictionaries({"menu": st.fixed_dictionaries(
        {"prompt": texts, "options": st.dictionaries(st.sampled_from(["1", "2", "10", "*", "#"]),
                                                     targets, min_size=1, max_size=3)},
        optional={"timeout": durations, "retries": st.integers(0, 10), "on_fail": targets,
                  "barge_in": st.booleans(), "no_input": texts},
    )}),
    st.fixed_dictionaries({"collect": st.fixed_dictionaries(
        {"prompt": texts},
        optional={"var": st.just("digits"), "max_digits": st.integers(1, 64),
                  "on_fail": targets, "timeout": durations},
    )}),
    st.fixed_dictionaries({"transfer": st.fixed_dictionaries(
        {"team": st.just("ventas")},
        optional={"on_no_answer": targets, "on_nobody": targets, "max_wait": durations},
    )}),
    st.fixed_dictionaries({"branch": st.lists(
        st.fixed_dictionaries({"if": st.sampled_from(["n > 1", "caller == ''"]),
                               "goto": targets}), min_size=1, max_size=2)}),
    st.fixed_dictionaries({"hours": st.fixed_dictionaries(
        {"week": st.just({"mon-fri": "09:00-14:00"}), "open": targets, "closed": targets},
        optional={"holiday": targets, "holidays": st.just(["12-25"])},
    )}),
)  # fmt: skip


@st.composite
def valid_flows(draw) -> dict:
    count = draw(st.integers(1, len(BLOCK_NAMES)))
    names = BLOCK_NAMES[:count]
    blocks = {}
    for name in names:
        block = dict(draw(specs))
        kind = next(iter(block))
        if kind not in ("menu", "hours", "goto", "hangup", "return") and draw(st.booleans()):
            block["next"] = draw(st.sampled_from(names))
        if draw(st.booleans()):
            block["actions"] = draw(actions_list)
        blocks[name] = block
    text = yaml.safe_dump({"flow": "t", "variables": {"n": 0}, "blocks": blocks})
    for name in BLOCK_NAMES[count:]:  # references to blocks this draw did not make
        text = text.replace(f": {name}\n", f": {names[0]}\n")
    return yaml.safe_load(text)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(valid_flows())
def test_valid_flows_load_lint_and_draw(tmp_path: Path, data: dict) -> None:
    """No false errors on a well-formed flow; lint and both pictures never crash on it."""
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    flow = load_flow(path)
    assert set(flow.blocks) == set(data["blocks"])
    for finding in lint(flow):
        assert finding.line > 0 and finding.severity in ("error", "warning", "note")
    assert to_dot(flow).endswith("}\n")
    assert to_mermaid(flow).startswith("flowchart TD\n")
