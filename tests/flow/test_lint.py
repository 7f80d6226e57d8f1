"""One test per lint rule: each fires where it should, with its position, and only there."""

from __future__ import annotations

from pathlib import Path

import pytest

from agi_callbot.config import Settings
from agi_callbot.flow.lint import lint as lint_with_notes

CLEAN = """
flow: t
blocks:
  menu:
    menu: {prompt: p, options: {"1": sales}, on_fail: sales}
  sales:
    transfer: {team: ventas, on_no_answer: bye}
  bye:
    hangup: {message: "Adiós"}
"""


def lint(*args, **kwargs):
    """Findings without the ``start`` note most flows here get (tested on its own below)."""
    return [f for f in lint_with_notes(*args, **kwargs) if f.rule != "start"]


def rules(findings) -> list[tuple[str, str, int, int]]:
    return [(f.severity, f.rule, f.line, f.column) for f in findings]


def test_a_clean_flow_has_no_findings(flows) -> None:
    assert lint(flows.load(CLEAN)) == []


def test_unreachable_block(flows) -> None:
    flow = flows.load(CLEAN + "  orphan: {say: nadie}\n")
    (finding,) = lint(flow)
    assert (finding.severity, finding.rule, finding.line, finding.column) == (
        "warning",
        "unreachable",
        9,
        3,
    )
    assert str(finding) == (
        f"{flow.path}:9:3: warning: block 'orphan' is never reached from start ('menu')"
    )


def test_on_error_target_counts_as_reachable(flows) -> None:
    flow = flows.load(CLEAN.replace("blocks:", "on_error: oops\nblocks:") + "  oops: {say: x}\n")
    assert lint(flow) == []


def test_menu_without_on_fail(flows) -> None:
    flow = flows.load(CLEAN.replace(", on_fail: sales", ""))
    assert rules(lint(flow)) == [("warning", "menu-on-fail", 3, 3)]


def test_collect_without_on_fail(flows) -> None:
    flow = flows.load(
        """
        flow: t
        blocks:
          ask: {collect: {prompt: p}, next: bye}
          bye: {hangup: null}
        """
    )
    assert rules(lint(flow)) == [("warning", "collect-on-fail", 3, 3)]


def test_transfer_without_on_no_answer(flows) -> None:
    flow = flows.load(CLEAN.replace(", on_no_answer: bye", ""))
    findings = lint(flow)
    assert ("warning", "transfer-no-answer", 5, 3) in rules(findings)


def test_loop_that_spins_is_an_error(flows) -> None:
    flow = flows.load(
        """
        flow: t
        blocks:
          a: {say: uno, next: b}
          b: {set: {x: 1}, next: c}
          c: {goto: a}
        """
    )
    (finding,) = lint(flow)
    assert (finding.severity, finding.rule, finding.line) == ("error", "no-exit-loop", 3)
    assert "loop with no way out (a, b, c)" in finding.message
    assert "max_steps (500)" in finding.message


def test_loop_with_a_menu_and_no_exit_is_a_warning(flows) -> None:
    flow = flows.load(
        """
        flow: t
        blocks:
          m:
            menu: {prompt: p, options: {"1": info}, on_fail: info}
          info: {say: info, next: m}
        """
    )
    assert rules(lint(flow)) == [("warning", "no-exit-loop", 3, 3)]


@pytest.mark.parametrize(
    "blocks",
    [
        # the menu's options lead out of the loop
        'm: {menu: {prompt: p, options: {"1": info, "2": bye}, on_fail: bye}}\n'
        "  info: {say: i, next: m}\n  bye: {hangup: null}\n",
        # a branch leaves the loop
        "a: {set: {n: {expr: 'n + 1'}}, next: b}\n"
        "  b: {branch: [{if: 'n > 3', goto: bye}, {else: a}]}\n  bye: {hangup: null}\n",
        # a transfer ends the call when answered
        "a: {transfer: {team: v, on_no_answer: a}}\n",
    ],
)
def test_loops_with_a_way_out_are_fine(flows, blocks: str) -> None:
    flow = flows.load("flow: t\nvariables: {n: 0}\nblocks:\n  " + blocks)
    assert [f for f in lint(flow) if f.rule == "no-exit-loop"] == []


def test_self_loop(flows) -> None:
    flow = flows.load("flow: t\nblocks:\n  a: {say: x, next: a}\n")
    assert rules(lint(flow)) == [("error", "no-exit-loop", 3, 3)]


def test_unknown_variable_in_on_hangup(flows) -> None:
    flow = flows.load(
        CLEAN
        + """
on_hangup:
  - sms: {text: "Su código: ${digits}"}
  - webhook: {url: "https://x/${caller}", body: {n: "${caller_name} ${arg1}"}}
"""
    )
    (finding,) = lint(flow)
    assert (finding.rule, finding.line, finding.column) == ("unknown-variable", 11, 5)
    assert finding.message == (
        "sms action in on_hangup reads ${digits}, which nothing sets"
        " (declare it under variables: if the call's arguments set it)"
    )


def test_variables_set_by_the_flow_are_known(flows) -> None:
    flow = flows.load(
        """
        flow: t
        variables: {plan: basic}
        blocks:
          ask:
            collect: {prompt: "Número", var: digits, on_fail: bye}
            actions: [{webhook: {url: "https://crm", save_as: crm}}]
            next: check
          check:
            branch: [{if: "crm.vip == 'yes' and plan != ''", goto: bye}]
            next: tag
          tag: {set: {tagged: "${digits}"}, next: bye}
          bye: {hangup: "Adiós ${caller_name}, ${tagged}"}
        on_hangup:
          - sms: {text: "${digits} ${crm.status} ${missing:-none}"}
        """
    )
    assert lint(flow) == []


def test_unknown_variable_in_a_block(flows) -> None:
    flow = flows.load(
        """
        flow: t
        blocks:
          a:
            branch: [{if: "vip == 1", goto: b}]
            next: b
          b: {say: "Hola ${nombre}"}
        """
    )
    assert [(f.rule, f.line, f.message.split(" (")[0]) for f in lint(flow)] == [
        ("unknown-variable", 3, "block 'a' reads ${vip}, which nothing sets"),
        ("unknown-variable", 6, "block 'b' reads ${nombre}, which nothing sets"),
    ]


WHATSAPP = """
flow: t
blocks:
  a:
    actions:
      - whatsapp: {template: encuesta, params: ["${caller_name}"]}
      - whatsapp: {template: encuesta, language: en, params: ["${caller_name}"]}
      - whatsapp: {template: encuesta}
      - whatsapp: {template: otra}
      - whatsapp: {text: "Hola"}
      - whatsapp: {text: "Hola", window_open: true}
"""


def test_whatsapp_templates_against_the_registry(flows) -> None:
    settings = Settings(templates={"encuesta": {"language": "es", "params": 1}})
    findings = lint(flows.load(WHATSAPP), settings)
    assert [(f.severity, f.line) for f in findings] == [
        ("error", 6),
        ("error", 7),
        ("error", 8),
        ("error", 9),
    ]
    messages = [f.message for f in findings]
    assert "not registered in language 'en'" in messages[0]
    assert "takes 1 parameter(s), got 0" in messages[1]
    assert "'otra' is not in the template registry" in messages[2]
    assert messages[3].startswith("free-form WhatsApp text outside the 24 h window")


def test_whatsapp_without_a_registry_is_a_warning(flows) -> None:
    findings = lint(flows.load(WHATSAPP), Settings())
    assert [(f.severity, f.line) for f in findings if f.rule == "whatsapp"] == [
        ("warning", 5),
        ("warning", 6),
        ("warning", 7),
        ("warning", 8),
        ("error", 9),
    ]


def test_whatsapp_fallbacks_and_option_actions_are_checked(flows) -> None:
    flow = flows.load(
        """
        flow: t
        blocks:
          m:
            menu:
              prompt: p
              on_fail: m2
              options:
                "1": {actions: [{sms: {text: x, fallback: [{whatsapp: {text: "x"}}]}}]}
          m2: {say: x}
        """
    )
    assert [(f.rule, f.line) for f in lint(flow)] == [("whatsapp", 8)]


def test_hold_music_class_must_have_a_folder(flows, tmp_path: Path) -> None:
    moh = tmp_path / "moh"
    (moh / "ventas").mkdir(parents=True)
    flow = flows.load(
        """
        flow: t
        blocks:
          a: {transfer: {team: ventas, music: ventas, on_no_answer: b}}
          b: {transfer: {team: soporte, music: soporte, on_no_answer: c}}
          c: {hangup: null}
        """
    )
    findings = lint(flow, Settings(moh_dir=moh))
    assert [(f.rule, f.line) for f in findings] == [("music", 4)]
    assert "hold music class 'soporte' has no folder" in findings[0].message


def test_absolute_sound_file_must_exist(flows, tmp_path: Path) -> None:
    (tmp_path / "hola.sln16").write_bytes(b"")
    flow = flows.load(
        f"""
        flow: t
        blocks:
          a: {{play: {tmp_path}/hola, next: b}}
          b: {{play: {tmp_path}/nada}}
        """
    )
    assert [(f.rule, f.line) for f in lint(flow)] == [("sound", 4)]


def test_subflow_that_does_not_load(flows) -> None:
    flows.write("outro", "flow: outro\nblocks: {a: {say: x, next: missing}}\n")
    flow = flows.load("flow: t\nblocks:\n  a: {subflow: outro}\n")
    assert lint(flow) == []  # without a library, sub-flows are not opened
    (finding,) = lint(flow, library=flows.library)
    assert (finding.severity, finding.rule, finding.line) == ("error", "subflow", 3)
    assert finding.message.startswith("subflow 'outro' does not load: ")
    assert "next: no block 'missing'" in finding.message


def test_subflows_in_a_circle(flows) -> None:
    flows.write("b", "flow: b\nblocks: {x: {subflow: c}}\n")
    flows.write("c", "flow: c\nblocks: {x: {subflow: a}}\n")
    flows.write("ok", "flow: ok\nblocks: {x: {say: fin}}\n")
    flow = flows.load("flow: a\nblocks:\n  s: {subflow: ok, next: t}\n  t: {subflow: b}\n", "a")
    (finding,) = lint(flow, library=flows.library)
    assert (finding.severity, finding.rule, finding.line) == ("warning", "subflow", 4)
    assert finding.message == "sub-flows call each other in a circle: a → b → c → a"


def test_hours_never_open(flows) -> None:
    text = """
        flow: t
        blocks:
          h: {hours: {week: {mon-sun: closed}, open: a, closed: b}}
          a: {hangup: open}
          b: {hangup: closed}
        """
    assert rules(lint(flows.load(text))) == [("warning", "hours-never-open", 3, 3)]
    assert lint(flows.load(text.replace("mon-sun: closed", "sat: '10:00-11:00'"))) == []


def test_a_subflow_in_a_loop_may_end_the_call(flows) -> None:
    flows.write("outro", "flow: outro\nblocks: {bye: {hangup: null}}\n")
    flow = flows.load("flow: t\nblocks:\n  a: {say: x, next: s}\n  s: {subflow: outro, next: a}\n")
    assert lint(flow) == []


def test_a_flow_without_start_gets_a_note_naming_its_first_block(flows) -> None:
    (finding,) = lint_with_notes(flows.load(CLEAN))
    assert (finding.severity, finding.rule, finding.line, finding.column) == ("note", "start", 3, 3)
    assert str(finding).endswith(
        "3:3: note: no start: key: calls begin at the first block, 'menu' (write start: menu to "
        "say so)"
    )


def test_a_flow_with_start_gets_no_note(flows) -> None:
    assert lint_with_notes(flows.load(CLEAN.replace("blocks:", "start: menu\nblocks:"))) == []
