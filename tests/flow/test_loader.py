"""Loading valid flows into the model, and the library: names, pinning, hot reload."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from datetime import date, time

import pytest

from agi_callbot.config import Defaults
from agi_callbot.errors import FlowError
from agi_callbot.flow import model as m
from agi_callbot.flow.loader import FlowLibrary, check_name, load_flow

FULL = """
flow: full
description: every block kind
language: es
voice: {engine: espeak-ng, voice: es}
region: MX
timezone: America/Mexico_City
max_steps: 50
on_error: agent
variables: {tries: 0, segment: basic}
blocks:
  welcome:
    say: {es: "Hola ${caller_name}", en: "Hello ${caller_name}"}
    voice: {voice: es+f3}
    actions:
      - set: {tries: {expr: "tries + 1"}, greeted: true}
      - sms: {text: "Hola", from: "+34910000000",
              fallback: [{email: {to: a@b.c, subject: s, body: b}}]}
        when: "caller != ''"
    next: office
  office:
    hours:
      week: {mon-fri: "09:00-14:00, 16:00-19:00", sat: ["10:00-13:00"], sun: closed}
      holidays: [2026-12-25, "01-06"]
      open: main
      closed: closed_msg
  main:
    menu:
      prompt: "Pulse 1, 2 o 10"
      options:
        "1": sales
        "2": {actions: [{whatsapp: {template: enlace, params: ["${caller}"]}}]}
        "10": {goto: agent, actions: [{optin: {channel: whatsapp}}]}
        "#": main
      timeout: 4s
      retries: 1
      no_input: "No le oigo"
      invalid: {es: "No válida", en: "Not valid"}
      on_fail: agent
      repeat: "*"
  ask:
    collect: {prompt: "Su número", var: account, min_digits: 4, max_digits: 8,
              pattern: "[0-9]+", terminator: false, timeout: 10s}
    next: check
  check:
    branch:
      - if: "account in ['1234', '5678']"
        goto: vip
      - else: sales
  vip:
    set: {segment: "vip ${account}"}
    next: sales
  sales:
    transfer: {team: ventas, music: ventas, announce: "Le paso", max_wait: 2m,
               on_nobody: closed_msg, on_no_answer: closed_msg,
               on_hangup: [{sms: {text: "Perdón"}}]}
  agent:
    transfer: {agent: "PJSIP/1001", ring: 15s, on_busy: closed_msg, on_no_answer: sub}
  sub:
    subflow: {flow: common/outro, vars: {reason: busy}}
    next: bye
  closed_msg:
    play: custom/closed
    next: bye
  jump:
    goto: bye
  back:
    return: {result: "${segment}"}
  bye:
    hangup: {message: "Adiós", result: done}
on_hangup:
  - webhook: {url: "https://crm.example/calls", body: {caller: "${caller}", n: [1, 2]},
              save_as: crm, timeout: 2s, headers: {X-Flow: full}}
"""


@pytest.fixture
def full(flows) -> m.Flow:
    flows.write("common/outro", "flow: common/outro\nblocks: {a: {say: bye}}\n")
    return flows.load(FULL, "full")


def test_flow_fields(full: m.Flow, flows) -> None:
    raw = (flows.root / "full.yaml").read_bytes()
    assert full.version == hashlib.sha256(raw).hexdigest()[:12]
    assert (full.name, full.language, full.region, full.timezone) == (
        "full",
        "es",
        "MX",
        "America/Mexico_City",
    )
    assert full.start == "welcome" and full.max_steps == 50 and full.on_error == "agent"
    assert full.variables == {"tries": 0, "segment": "basic"}
    assert full.voice == {"engine": "espeak-ng", "voice": "es"}
    assert full.subflows() == ("common/outro",)
    assert full.blocks["welcome"].line == 11 and full.blocks["welcome"].column == 3


def test_say_texts_actions_and_voice(full: m.Flow) -> None:
    welcome = full.blocks["welcome"]
    assert welcome.kind == "say" and welcome.voice == {"voice": "es+f3"}
    spec = welcome.spec
    assert isinstance(spec, m.Say) and spec.prompt.id == "welcome"
    assert spec.prompt.text.get("en", "es") == "Hello ${caller_name}"
    assert spec.prompt.text.get("fr", "es") == "Hola ${caller_name}"
    set_action, sms = welcome.actions
    assert isinstance(set_action.spec, m.SetVars)
    assert set_action.spec.values["tries"].expr.evaluate({"tries": "1"}) == 2
    assert set_action.spec.values["greeted"] is True
    assert isinstance(sms.spec, m.Sms) and sms.spec.sender == "+34910000000"
    assert sms.spec.to == "${caller}"
    assert sms.when is not None and sms.when.expr.test({"caller": "+34600"})
    assert sms.spec.fallback[0].kind == "email"


def test_menu(full: m.Flow) -> None:
    menu = full.blocks["main"].spec
    assert isinstance(menu, m.Menu)
    assert list(menu.options) == ["1", "2", "10", "#"]
    assert menu.options["2"].goto is None and menu.options["2"].actions[0].kind == "whatsapp"
    assert menu.options["2"].actions[0].spec.language == "es"  # the flow's language
    assert menu.options["10"].goto == "agent"
    assert (menu.timeout, menu.retries, menu.repeat, menu.on_fail) == (4.0, 1, "*", "agent")
    assert menu.terminator is None  # "#" is an option, so it cannot end the input
    assert menu.invalid.id == "main.invalid" and menu.no_input.id == "main.no_input"
    assert menu.prompt.id == "main"
    assert [(e.label, e.target) for e in full.blocks["main"].edges()] == [
        ("1", "sales"),
        ("10", "agent"),
        ("#", "main"),
        ("on_fail", "agent"),
    ]


def test_collect_branch_set(full: m.Flow) -> None:
    collect = full.blocks["ask"].spec
    assert isinstance(collect, m.Collect)
    assert (collect.var, collect.min_digits, collect.max_digits) == ("account", 4, 8)
    assert collect.terminator is None and collect.timeout == 10.0 and collect.pattern == "[0-9]+"
    branch = full.blocks["check"].spec
    assert isinstance(branch, m.Branch) and branch.default == "sales"
    assert branch.cases[0].condition.expr.test({"account": "5678"})
    assert full.blocks["vip"].spec.values.values == {"segment": "vip ${account}"}


def test_transfers(full: m.Flow) -> None:
    team = full.blocks["sales"].spec
    assert isinstance(team, m.Transfer)
    assert (team.team, team.music, team.max_wait, team.check_available) == (
        "ventas",
        "ventas",
        120.0,
        True,
    )
    assert team.announce.id == "sales.announce" and team.on_hangup[0].kind == "sms"
    assert team.branch_for("JOINEMPTY") == "closed_msg"
    assert team.branch_for("TIMEOUT") == "closed_msg"
    assert team.branch_for("CONTINUE", "x") == "x"
    agent = full.blocks["agent"].spec
    assert (agent.agent, agent.ring) == ("PJSIP/1001", 15.0)
    assert agent.branch_for("BUSY") == "closed_msg"
    assert agent.branch_for("CHANUNAVAIL") == "sub"  # falls back to on_no_answer
    assert agent.branch_for("NOANSWER") == "sub"


def test_hours_subflow_play_goto_return_hangup(full: m.Flow) -> None:
    hours = full.blocks["office"].spec
    assert isinstance(hours, m.Hours) and hours.timezone == "America/Mexico_City"
    assert hours.week[0] == ((time(9), time(14)), (time(16), time(19)))
    assert hours.week[5] == ((time(10), time(13)),) and hours.week[6] == ()
    assert hours.holidays == {date(2026, 12, 25)} and hours.yearly == {(1, 6)}
    assert hours.holiday is None
    sub = full.blocks["sub"]
    assert sub.spec == m.Subflow("common/outro", {"reason": "busy"}) and sub.next == "bye"
    play = full.blocks["closed_msg"]
    assert play.kind == "say" and play.spec.prompt.file == "custom/closed"
    assert full.blocks["jump"].spec == m.Goto("bye")
    assert full.blocks["back"].spec == m.Return("${segment}")
    bye = full.blocks["bye"].spec
    assert isinstance(bye, m.Hangup) and bye.result == "done" and bye.message.id == "bye"
    webhook = full.on_hangup[0].spec
    assert isinstance(webhook, m.Webhook)
    assert webhook.body == {"caller": "${caller}", "n": [1, 2]}
    assert (webhook.save_as, webhook.timeout, webhook.method) == ("crm", 2.0, "POST")
    assert webhook.headers == {"X-Flow": "full"}


def test_short_forms_and_defaults(flows) -> None:
    flows.write("other", "flow: other\nblocks: {a: {say: hi}}\n")
    flow = flows.load(
        """
        flow: t
        blocks:
          a: {hangup: "Adiós"}
          b: {hangup: null}
          c: {return: null}
          d:
          e: {subflow: t2}
          f:
            menu: {prompt: p, options: {1: a}}
        """.replace("t2", "other")
    )
    assert flow.language == "es" and flow.region == "ES" and flow.max_steps == 500
    assert flow.blocks["a"].spec.message.text.get("es", "es") == "Adiós"
    assert flow.blocks["b"].spec == m.Hangup() and flow.blocks["c"].spec == m.Return()
    assert flow.blocks["d"].kind == "step"
    menu = flow.blocks["f"].spec
    assert list(menu.options) == ["1"] and menu.terminator == "#" and menu.timeout == 5.0


def test_defaults_come_from_settings(tmp_path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("flow: x\nblocks: {a: {say: hi}}\n")
    flow = load_flow(
        path, defaults=Defaults(language="en", region="GB", timezone="Europe/London"), max_steps=9
    )
    assert (flow.language, flow.region, flow.timezone, flow.max_steps) == (
        "en",
        "GB",
        "Europe/London",
        9,
    )


def test_subflows_checked_only_with_a_library(tmp_path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("flow: x\nblocks: {a: {subflow: nowhere}}\n")
    assert load_flow(path).subflows() == ("nowhere",)
    with pytest.raises(FlowError, match="no flow 'nowhere'"):
        FlowLibrary(tmp_path).load(path)


# --------------------------------------------------------------------------- library


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "a/../b", "a b", "a.b", "", "a//b", "a/"])
def test_bad_flow_names_are_refused(name: str) -> None:
    with pytest.raises(FlowError, match="invalid flow name"):
        check_name(name)


@pytest.mark.parametrize("name", ["soporte", "ventas/campana-2", "A_1"])
def test_good_flow_names(name: str) -> None:
    assert check_name(name) == name


def test_library_names_and_unknown_flow(flows) -> None:
    flows.write("a", "flow: a\nblocks: {x: {say: hi}}\n")
    flows.write("sub/b", "flow: sub/b\nblocks: {x: {say: hi}}\n")
    flows.write("a.test", "cases: []\n")
    assert flows.library.names() == ["a", "sub/b"]
    assert flows.library.get("sub/b").name == "sub/b"
    with pytest.raises(FlowError, match="no flow 'missing'"):
        flows.library.get("missing")
    with pytest.raises(FlowError, match="invalid flow name"):
        flows.library.get("../a")


def _edit(path, text: str) -> None:
    """Write and move the mtime forward: a same-size edit within the clock's tick still shows."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


def test_version_pinning_and_hot_reload(flows, caplog) -> None:
    path = flows.write("s", "flow: s\nblocks: {a: {say: one}}\n")
    library = flows.library
    first = library.get("s")
    assert library.get("s") is first
    assert library.reload() == []  # nothing changed
    _edit(path, "flow: s\nblocks: {a: {say: two}}\n")
    assert library.get("s") is first  # until the reload runs, the old version serves
    with caplog.at_level(logging.INFO, "agi_callbot.flow"):
        assert library.reload() == ["s"]
    second = library.get("s")
    assert second.version != first.version
    assert first.blocks["a"].spec.prompt.text.get("es", "es") == "one"  # a pinned call's copy
    assert second.blocks["a"].spec.prompt.text.get("es", "es") == "two"
    assert f"flow s: reloaded, version {first.version} → {second.version}" in caplog.text


def test_invalid_edit_keeps_the_old_version_with_one_log_line(flows, caplog) -> None:
    path = flows.write("s", "flow: s\nblocks: {a: {say: one}}\n")
    first = flows.library.get("s")
    _edit(path, "flow: s\nblocks: {a: {say: one, next: nowhere}}\n")
    caplog.clear()  # "loaded" above is INFO: seen when an earlier test left the root at INFO
    with caplog.at_level(logging.WARNING, "agi_callbot.flow"):
        assert flows.library.reload() == []
        assert flows.library.reload() == []  # no new line for the same broken content
    assert flows.library.get("s") is first
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1
    assert lines[0].startswith(f"flow s: not reloaded, version {first.version} keeps serving: ")
    assert "s.yaml:2:30: next: no block 'nowhere'" in lines[0]


def test_touch_without_change_keeps_the_object(flows) -> None:
    path = flows.write("s", "flow: s\nblocks: {a: {say: one}}\n")
    first = flows.library.get("s")
    _edit(path, path.read_text())
    assert flows.library.reload() == []
    assert flows.library.get("s") is first


def test_removed_flow_is_no_longer_served(flows, caplog) -> None:
    path = flows.write("s", "flow: s\nblocks: {a: {say: one}}\n")
    flows.library.get("s")
    path.unlink()
    with caplog.at_level(logging.WARNING, "agi_callbot.flow"):
        assert flows.library.reload() == ["s"]
    assert "flow s: file removed, no longer served" in caplog.text
    with pytest.raises(FlowError, match="no flow 's'"):
        flows.library.get("s")


def test_broken_at_first_then_fixed_loads_without_a_reload(flows) -> None:
    path = flows.write("s", "flow: s\nblocks: {a: {say: one, next: x}}\n")
    with pytest.raises(FlowError, match="no block 'x'"):
        flows.library.get("s")
    with pytest.raises(FlowError, match="no block 'x'"):
        flows.library.get("s")  # the cached error, not a new parse
    _edit(path, "flow: s\nblocks: {a: {say: one}}\n")
    assert flows.library.get("s").name == "s"


def test_load_all_reports_the_broken_ones(flows) -> None:
    flows.write("good", "flow: good\nblocks: {a: {say: one}}\n")
    flows.write("bad", "flow: bad\nblocks: {a: {sya: one}}\n")
    errors = flows.library.load_all()
    assert list(errors) == ["bad"] and "did you mean 'say'?" in str(errors["bad"])


async def test_watch_task_picks_up_an_edit(flows) -> None:
    path = flows.write("s", "flow: s\nblocks: {a: {say: one}}\n")
    first = flows.library.get("s")
    task = asyncio.create_task(flows.library.watch(0.01))
    try:
        _edit(path, "flow: s\nblocks: {a: {say: changed}}\n")
        async with asyncio.timeout(10):
            while flows.library.get("s") is first:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
    assert flows.library.get("s").blocks["a"].spec.prompt.text.get("es", "es") == "changed"


def test_lint_runs_on_every_load_without_refusing(flows, caplog) -> None:
    flows.write("spin", "flow: spin\nblocks:\n  a: {goto: b}\n  b: {goto: a}\n")
    with caplog.at_level(logging.WARNING, "agi_callbot.flow"):
        flow = flows.library.get("spin")
    assert flow.name == "spin"  # a bounded loop still ends the call with a status
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith(f"flow spin: version {flow.version} has 1 lint finding(s), first: ")
    assert "spin.yaml:3:3: loop with no way out (a, b)" in line


def test_library_from_settings_lints_against_templates(tmp_path, caplog) -> None:
    from agi_callbot.config import Settings

    (tmp_path / "w.yaml").write_text(
        "flow: w\nblocks:\n  a:\n    actions: [{whatsapp: {template: nope}}]\n"
    )
    settings = Settings(flows_dir=tmp_path, templates={"encuesta": {"language": "es"}})
    with caplog.at_level(logging.WARNING, "agi_callbot.flow"):
        FlowLibrary.from_settings(settings).get("w")
    assert "WhatsApp template 'nope' is not in the template registry" in caplog.text


async def test_watch_survives_a_failing_round(flows, caplog, monkeypatch) -> None:
    path = flows.write("s", "flow: s\nblocks: {a: {say: one}}\n")
    first = flows.library.get("s")
    real_reload = flows.library.reload
    rounds = []

    def flaky() -> list[str]:
        rounds.append(1)
        if len(rounds) == 1:
            raise PermissionError("flows folder unreadable")
        return real_reload()

    monkeypatch.setattr(flows.library, "reload", flaky)
    task = asyncio.create_task(flows.library.watch(0.01))
    try:
        _edit(path, "flow: s\nblocks: {a: {say: later}}\n")
        async with asyncio.timeout(10):
            while flows.library.get("s") is first:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
    assert "flows: reload round failed" in caplog.text and len(rounds) >= 2
