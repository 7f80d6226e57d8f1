"""Every kind of load error, with the exact line:column an admin is sent to."""

from __future__ import annotations

import pytest

HEAD = "flow: t\nblocks:\n"

CASES = [
    # ---- the file as a whole
    ("yaml syntax", "flow: t\nblocks: {a: [\n", 3, 1, "YAML: "),
    ("not a mapping", "- a\n", 1, 1, "a flow file must be a mapping, not a list"),
    ("missing blocks", "flow: t\n", 1, 1, "a flow file needs 'blocks'"),
    (
        "unknown top key",
        "flow: t\nlanguag: es\nblocks: {a: {say: hi}}\n",
        2,
        1,
        "unknown key 'languag' in a flow file (did you mean 'language'?)",
    ),
    (
        "flow name",
        "flow: other\nblocks: {a: {say: hi}}\n",
        1,
        7,
        "flow: 'other' must equal the file's name 't'",
    ),
    (
        "bad language",
        "flow: t\nlanguage: Spanish\nblocks: {a: {say: hi}}\n",
        2,
        11,
        "language 'Spanish' is not valid",
    ),
    (
        "bad region",
        "flow: t\nregion: es\nblocks: {a: {say: hi}}\n",
        2,
        9,
        "region 'es' is not valid (a two-letter country code",
    ),
    (
        "bad timezone",
        "flow: t\ntimezone: Europe/Madird\nblocks: {a: {say: hi}}\n",
        2,
        11,
        "unknown time zone 'Europe/Madird'",
    ),
    (
        "max_steps",
        "flow: t\nmax_steps: 0\nblocks: {a: {say: hi}}\n",
        2,
        12,
        "max_steps must be between 1 and 100000, not 0",
    ),
    (
        "expression in variables",
        "flow: t\nvariables: {n: {expr: '1 + 1'}}\nblocks: {a: {say: hi}}\n",
        2,
        16,
        "variables n: a text, number or true/false (compute in a set)",
    ),
    (
        "unknown start",
        "flow: t\nstart: welcom\nblocks: {welcome: {say: hi}}\n",
        2,
        8,
        "start: no block 'welcom' (did you mean 'welcome'?)",
    ),
    ("empty blocks", "flow: t\nblocks: {}\n", 2, 9, "blocks is empty"),
    # ---- blocks
    (
        "duplicate block",
        HEAD + "  a: {say: hi}\n  a: {say: ho}\n",
        4,
        3,
        "duplicate key 'a' in blocks (first on line 3)",
    ),
    ("block name", HEAD + "  bad name: {say: hi}\n", 3, 3, "block name 'bad name'"),
    ("block not a mapping", HEAD + "  a: [1]\n", 3, 6, "block 'a' must be a mapping, not a list"),
    (
        "unknown block key",
        HEAD + "  a:\n    say: hi\n    nxt: b\n  b: {say: ho}\n",
        5,
        5,
        "unknown key 'nxt' in block 'a' (did you mean 'next'?)",
    ),
    (
        "two kinds",
        HEAD + "  a:\n    say: hi\n    goto: a\n",
        5,
        5,
        "a block has one kind, found 'say' and 'goto'",
    ),
    (
        "unknown next",
        HEAD + "  a:\n    say: hi\n    next: mian\n  main: {say: x}\n",
        5,
        11,
        "next: no block 'mian' (did you mean 'main'?)",
    ),
    (
        "next on a menu",
        HEAD + "  a:\n    menu: {prompt: p, options: {'1': a}}\n    next: a\n",
        5,
        5,
        "a menu block has no next (its options and on_fail say where to go)",
    ),
    (
        "template not closed",
        HEAD + '  a:\n    say: "Hola ${caller"\n',
        4,
        16,
        "say: '${' is not closed by '}'",
    ),
    (
        "text language",
        HEAD + "  a:\n    say: {es: Hola, Spanish: x}\n",
        4,
        21,
        "say: 'Spanish' is not a language tag",
    ),
    ("play dots", HEAD + "  a: {play: ../etc/passwd}\n", 3, 13, "'..' is not allowed"),
    # ---- menu
    (
        "bad duration",
        HEAD + "  a:\n    menu: {prompt: p, options: {'1': a}, timeout: 5x}\n",
        4,
        51,
        "timeout: not a duration: '5x'",
    ),
    (
        "absurd timeout",
        HEAD + "  a:\n    menu: {prompt: p, options: {'1': a}, timeout: 10m}\n",
        4,
        51,
        "timeout 10m is out of range (500ms to 1m)",
    ),
    (
        "tiny timeout",
        HEAD + "  a:\n    collect: {prompt: p, timeout: 1ms}\n",
        4,
        35,
        "timeout 1ms is out of range (500ms to 2m)",
    ),
    (
        "day-long ring",
        HEAD + "  a:\n    transfer: {agent: PJSIP/1, ring: 2h}\n",
        4,
        38,
        "ring 2h is out of range (1s to 10m)",
    ),
    (
        "retries",
        HEAD + "  a:\n    menu: {prompt: p, options: {'1': a}, retries: 99}\n",
        4,
        51,
        "retries must be between 0 and 10, not 99",
    ),
    (
        "option keys",
        HEAD + "  a:\n    menu: {prompt: p, options: {x1: a}}\n",
        4,
        33,
        "option 'x1' is not phone keys",
    ),
    (
        "duplicate option",
        HEAD + "  a:\n    menu: {prompt: p, options: {'1': a, '1': a}}\n",
        4,
        41,
        "duplicate key '1' in options",
    ),
    (
        "unknown option target",
        HEAD + "  a:\n    menu: {prompt: p, options: {'1': sales}}\n",
        4,
        38,
        "option '1': no block 'sales'",
    ),
    (
        "unquoted #",
        HEAD + "  a:\n    menu:\n      prompt: p\n      options: {'1': a}\n      terminator: #\n",
        7,
        18,
        "terminator is empty: quote it",
    ),
    (
        "terminator used",
        HEAD + "  a:\n    menu: {prompt: p, options: {'#': a}, terminator: '#'}\n",
        4,
        54,
        "terminator '#' is also used by an option",
    ),
    ("menu without options", HEAD + "  a:\n    menu: {prompt: p}\n", 4, 11, "menu needs 'options'"),
    (
        "option with nothing",
        HEAD + "  a:\n    menu: {prompt: p, options: {'1': {}}}\n",
        4,
        38,
        "option '1' needs goto, actions or both",
    ),
    # ---- collect
    (
        "min over max",
        HEAD + "  a:\n    collect: {prompt: p, min_digits: 5, max_digits: 3}\n",
        4,
        38,
        "min_digits 5 is more than max_digits 3",
    ),
    (
        "bad pattern",
        HEAD + "  a:\n    collect: {prompt: p, pattern: '[0-9'}\n",
        4,
        36,
        "pattern: unterminated character set",
    ),
    ("bad var", HEAD + "  a:\n    collect: {prompt: p, var: 2x}\n", 4, 31, "var '2x' is not valid"),
    # ---- transfer
    (
        "team and agent",
        HEAD + "  a:\n    transfer: {team: v, agent: PJSIP/1}\n",
        4,
        15,
        "transfer needs exactly one of team",
    ),
    (
        "ring on team",
        HEAD + "  a:\n    transfer: {team: v, ring: 5s}\n",
        4,
        25,
        "ring is for agent transfers",
    ),
    (
        "bad dial string",
        HEAD + "  a:\n    transfer: {agent: 'PJSIP/1,t'}\n",
        4,
        23,
        "agent 'PJSIP/1,t' is not valid",
    ),
    (
        "on_nobody on agent",
        HEAD + "  a:\n    transfer: {agent: PJSIP/1, on_nobody: a}\n",
        4,
        32,
        "on_nobody is for team transfers",
    ),
    # ---- hours
    (
        "bad range",
        HEAD + "  a:\n    hours: {week: {mon: 9-17}, open: a, closed: a}\n",
        4,
        25,
        "opening hours '9-17': write HH:MM-HH:MM",
    ),
    (
        "bad day",
        HEAD + "  a:\n    hours: {week: {mon-fry: '09:00-17:00'}, open: a, closed: a}\n",
        4,
        20,
        "'mon-fry' is not days such as mon-fri",
    ),
    (
        "open all day?",
        HEAD + "  a:\n    hours: {week: {mon: true}, open: a, closed: a}\n",
        4,
        25,
        "opening hours: write the hours (09:00-14:00), or closed",
    ),
    (
        "backwards",
        HEAD + "  a:\n    hours: {week: {mon: '17:00-09:00'}, open: a, closed: a}\n",
        4,
        25,
        "end before they start",
    ),
    (
        "overlap",
        HEAD + "  a:\n    hours: {week: {mon: '09:00-12:00, 11:00-13:00'}, open: a, closed: a}\n",
        4,
        25,
        "opening hours overlap",
    ),
    (
        "day twice",
        HEAD + "  a:\n    hours: {week: {mon-fri: closed, fri: closed}, open: a, closed: a}\n",
        4,
        37,
        "week: fri is given twice",
    ),
    (
        "holiday",
        HEAD + "  a:\n    hours: {week: {}, holidays: ['13-01'], open: a, closed: a}\n",
        4,
        34,
        "holiday '13-01'",
    ),
    (
        "hours tz",
        HEAD + "  a:\n    hours: {timezone: Mars/Base, week: {}, open: a, closed: a}\n",
        4,
        23,
        "unknown time zone 'Mars/Base'",
    ),
    # ---- branch / set / subflow
    (
        "expr error",
        HEAD + '  a:\n    branch:\n      - {if: "x ==", goto: a}\n',
        5,
        19,
        "if: expected a value, found end of expression",
    ),
    (
        "else not last",
        HEAD + "  a:\n    branch:\n      - else: a\n      - {if: x, goto: a}\n",
        5,
        9,
        "else stands alone, as the last entry of a branch",
    ),
    (
        "case without goto",
        HEAD + "  a:\n    branch:\n      - if: x\n",
        5,
        9,
        "a branch case needs if and goto",
    ),
    ("set var name", HEAD + "  a:\n    set: {2x: 1}\n", 4, 11, "'2x' is not a variable name"),
    ("set expr", HEAD + "  a:\n    set: {x: {expr: 'a +'}}\n", 4, 25, "set x: expected a value"),
    (
        "missing subflow",
        HEAD + "  a: {subflow: common/outro}\n",
        3,
        16,
        "subflow: no flow 'common/outro'",
    ),
    ("self subflow", HEAD + "  a: {subflow: t}\n", 3, 16, "subflow: a flow cannot call itself"),
    ("subflow name", HEAD + "  a: {subflow: ../x}\n", 3, 16, "subflow '../x' is not valid"),
    # ---- actions
    (
        "unknown action",
        HEAD + "  a:\n    actions:\n      - smss: {text: hi}\n",
        5,
        9,
        "unknown action 'smss' (did you mean 'sms'?)",
    ),
    (
        "two action kinds",
        HEAD + "  a:\n    actions:\n      - {sms: {text: a}, optin: {channel: sms}}\n",
        5,
        26,
        "an action has one kind, found 'sms' and 'optin'",
    ),
    ("sms text", HEAD + "  a:\n    actions:\n      - sms: {to: x}\n", 5, 14, "sms needs 'text'"),
    (
        "sms sender",
        HEAD + "  a:\n    actions:\n      - sms: {text: x, from: 'Acme Customer Care'}\n",
        5,
        30,
        "sms from 'Acme Customer Care' is not valid",
    ),
    (
        "wa template",
        HEAD + "  a:\n    actions:\n      - whatsapp: {template: Encuesta}\n",
        5,
        30,
        "template 'Encuesta' is not valid",
    ),
    (
        "email to",
        HEAD + "  a:\n    actions:\n      - email: {to: sales, subject: s, body: b}\n",
        5,
        21,
        "email to 'sales' is not an e-mail address",
    ),
    (
        "webhook url",
        HEAD + "  a:\n    actions:\n      - webhook: {url: 'ftp://x'}\n",
        5,
        24,
        "url 'ftp://x' must start with http:// or https://",
    ),
    (
        "webhook body",
        HEAD + "  a:\n    actions:\n      - webhook: {url: 'http://x', body: {a: '${b'}}\n",
        5,
        42,
        "body: '${' is not closed",
    ),
    (
        "optin channel",
        HEAD + "  a:\n    actions:\n      - optin: {channel: fax}\n",
        5,
        26,
        "channel 'fax' is not valid (sms, whatsapp or email)",
    ),
    (
        "fallback kind",
        HEAD + "  a:\n    actions:\n      - sms:\n          text: x\n"
        "          fallback: [{optin: {channel: sms}}]\n",
        7,
        23,
        "unknown action 'optin'",
    ),
    (
        "when",
        HEAD + "  a:\n    actions:\n      - {sms: {text: x}, when: 'a <'}\n",
        5,
        36,
        "when: expected a value",
    ),
    (
        "on_hangup not a list",
        "flow: t\nblocks: {a: {say: hi}}\non_hangup: {sms: {text: x}}\n",
        3,
        12,
        "on_hangup must be a list, not a mapping",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_error_position_and_message(flows, text, line, column, message) -> None:
    errors = flows.errors(text)
    assert any(
        (e_line, e_column) == (line, column) and message in e_message
        for e_line, e_column, e_message in errors
    ), errors


def test_all_errors_of_a_file_are_reported_in_order(flows) -> None:
    errors = flows.errors(
        HEAD + "  a:\n    say: hi\n    next: nowhere\n  b:\n    goto: elsewhere\n"
    )
    assert [(line, col) for line, col, _ in errors] == [(5, 11), (7, 11)]


def test_empty_and_non_utf8_files(flows) -> None:
    assert flows.errors("") == [(1, 1, "the flow file is empty")]
    path = flows.root / "bin.yaml"
    path.write_bytes(b"flow: bin\n\xff\xfe")
    from agi_callbot.errors import FlowError
    from agi_callbot.flow.loader import load_flow

    with pytest.raises(FlowError, match="not UTF-8"):
        load_flow(path)


def test_alias_bomb_is_refused(flows) -> None:
    """Ten levels of ten aliases each would be 10**10 nodes: refused, not expanded."""
    levels = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        levels.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    text = (
        "flow: t\ndescription: bomb\nvariables: {}\n"
        + "\n".join(levels)
        + "\nblocks:\n  a:\n    actions:\n      - webhook: {url: 'http://x', body: *l9}\n"
    )
    errors = flows.errors(text)
    assert [message for _, _, message in errors] == [
        "the flow file has too many YAML nodes (aliases?)"
    ]


def test_deep_nesting_is_an_error_not_a_crash(flows) -> None:
    """libyaml recurses in C: a deep file must go through the composer that can stop."""
    assert flows.errors("[" * 50_000 + "]" * 50_000) == [(0, 0, "YAML nested too deeply")]
