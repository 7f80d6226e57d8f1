"""The Asterisk config reader on small files: the syntax rules it follows, and its errors."""

from __future__ import annotations

import pytest

from agi_callbot.asterisk.conf import dialplan, matches, parse, split_args
from agi_callbot.errors import ConfigError


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_comments_escapes_and_block_comments(tmp_path):
    conf = parse(
        write(
            tmp_path,
            "x.conf",
            (
                "; a comment\n"
                "[a] ; trailing comment\n"
                "key = value ; gone\n"
                "semi = one\\;two\n"
                ";-- a block\n"
                "hidden = yes\n"
                "--; after = yes\n"
                "inline = 1 ;-- short --; \n"
            ),
        )
    )
    (a,) = conf.sections()
    assert [(e.key, e.value) for e in a.entries] == [
        ("key", "value"),
        ("semi", "one;two"),
        ("after", "yes"),
        ("inline", "1"),
    ]


def test_templates_inheritance_and_additions(tmp_path):
    conf = parse(
        write(
            tmp_path,
            "q.conf",
            (
                "[base](!)\nstrategy = ringall\ntimeout = 15\n"
                "[loud](!,base)\nannounce = yes\n"
                "[ventas](loud)\ntimeout = 20\nmember => PJSIP/1001\n"
                "[ventas](+)\nmember => PJSIP/1002\n"
            ),
        )
    )
    assert conf.names() == ["ventas"]
    ventas = conf.section("ventas")
    assert ventas.get("strategy") == "ringall"
    assert ventas.get("timeout") == "20"  # the later line wins over the template's
    assert ventas.get("announce") == "yes"
    assert ventas.values("member") == ["PJSIP/1001", "PJSIP/1002"]
    assert ventas.bases == ("loud",)
    assert all(e.arrow for e in ventas.entries if e.key == "member")


def test_include_and_tryinclude(tmp_path):
    write(tmp_path, "extra.conf", "[b]\nx = 1\n")
    conf = parse(
        write(
            tmp_path,
            "main.conf",
            ('[a]\ny = 2\n#include "extra.conf"\n#tryinclude missing.conf\n[c]\nz = 3\n'),
        )
    )
    assert conf.names() == ["a", "b", "c"]
    assert [p.name for p in conf.files] == ["main.conf", "extra.conf"]


def test_missing_include_is_an_error_with_its_name(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.conf"):
        parse(write(tmp_path, "main.conf", "#include nope.conf\n"))


def test_include_loop_is_refused(tmp_path):
    write(tmp_path, "b.conf", "#include a.conf\n")
    with pytest.raises(ConfigError, match="included twice"):
        parse(write(tmp_path, "a.conf", "#include b.conf\n"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("key = 1\n", "outside of any"),
        ("[a]\njust words\n", r"a\.conf:2: expected"),
        ("[a](nosuch)\n", "unknown template 'nosuch'"),
        ("[a](+)\n", "not defined before"),
    ],
)
def test_syntax_errors_name_file_and_line(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        parse(write(tmp_path, "a.conf", text))


def test_dialplan_same_n_labels_and_templates(tmp_path):
    conf = parse(
        write(
            tmp_path,
            "extensions.conf",
            (
                "[globals]\nQ=ventas\n"
                "[hangup-h](!)\nexten => h,1,NoOp(bye)\n"
                "[in](hangup-h)\n"
                "exten => 100,1,Answer()\n"
                " same => n(start),AGI(agi://callbot:4573/soporte?x=1)\n"
                " same => n,Queue(${Q},,,,30)\n"
                " same => n,Hangup\n"
                "exten => _X.,1,Goto(in,100,start)\n"
                "include => other\n"
            ),
        )
    )
    plan = dialplan(conf)
    steps = plan.contexts["in"]
    assert [(s.exten, s.priority, s.label, s.app) for s in steps] == [
        ("h", 1, None, "NoOp"),
        ("100", 1, None, "Answer"),
        ("100", 2, "start", "AGI"),
        ("100", 3, None, "Queue"),
        ("100", 4, None, "Hangup"),
        ("_X.", 1, None, "Goto"),
    ]
    assert steps[2].args == "agi://callbot:4573/soporte?x=1"
    assert plan.expand(steps[3].args) == "ventas,,,,30"
    assert plan.labels("in", "100") == {"start"}
    assert plan.includes == {"in": ["other"]}
    assert plan.has_extension("in", "4242") and not plan.has_extension("in", "s")
    assert "hangup-h" not in plan.contexts


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[c]\nsame => n,NoOp\n", "before any"),
        ("[c]\nexten => 1,n,NoOp\n", "needs an earlier priority"),
        ("[c]\nexten => 1,first,NoOp\n", "bad priority"),
    ],
)
def test_dialplan_errors(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        dialplan(parse(write(tmp_path, "extensions.conf", text)))


@pytest.mark.parametrize(
    ("pattern", "exten", "expected"),
    [
        ("_X.", "100", True),
        ("_X.", "1", False),
        ("_10XX", "1001", True),
        ("_10XX", "100", False),
        ("_[1-4]00", "300", True),
        ("_[1-4]00", "500", False),
        ("_NXX", "155", False),
        ("_Z!", "1", True),
        ("s", "s", True),
        ("s", "t", False),
    ],
)
def test_patterns(pattern, exten, expected):
    assert matches(pattern, exten) is expected


def test_split_args_keeps_expressions_whole():
    args = 'callbot-outcome,${IF($["${X}" = ""]?FAILED:${X})},1'
    assert split_args(args) == ["callbot-outcome", '${IF($["${X}" = ""]?FAILED:${X})}', "1"]


def test_variants_follow_set_and_globals(tmp_path):
    plan = dialplan(
        parse(
            write(
                tmp_path,
                "extensions.conf",
                (
                    "[globals]\nDEF=es\n"
                    "[in]\nexten => 1,1,Set(LANG=en)\nexten => 2,1,Set(LANG=${DEF})\n"
                    " same => n,Playback(x/${LANG}/${EXTEN})\n"
                ),
            )
        )
    )
    assert plan.assigned() == {"LANG": {"en", "es"}}
    assert plan.variants("x/${LANG}/${EXTEN}") == {"x/en/${EXTEN}", "x/es/${EXTEN}"}
