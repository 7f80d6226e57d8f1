"""The expression language and templates: values, precedence, errors with columns."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agi_callbot.errors import EvalError, UnsetVariable
from agi_callbot.flow.expr import ExprError, interpolate, parse, parse_template

VARS = {
    "caller": "+34600111222",
    "language": "es",
    "digits": "0042",
    "tries": "2",
    "empty": "",
    "order": {"status": "ok", "total": 12.5},
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("language == 'es'", True),
        ('language != "es"', False),
        ("digits == 42", True),  # numeric string vs number: numeric
        ("digits == '42'", False),  # two strings: exact text
        ("tries + 1 >= 3", True),
        ("tries - 3 < 0", True),
        ("-tries == -2", True),
        ("caller in ['+34600111222', '+1']", True),
        ("caller not in ['+1']", True),
        ("'600' in caller", True),
        ("not empty", True),
        ("empty or 'x'", "x"),
        ("digits and language", "es"),
        ("language == 'en' or language == 'es' and tries == 2", True),
        ("(language == 'en' or language == 'es') and tries == 3", False),
        ("not language == 'en'", True),
        ("order.status == 'ok' and order.total > 10", True),
        ("${language} == 'es'", True),
        ("'a' + 'b' + 1", "ab1"),
        ("'b' > 'a'", True),
        ("true and not false", True),
        ("null == null", True),
        ("'it\\'s' == \"it's\"", True),
        ("1.5 + 1", 2.5),
    ],
)
def test_evaluate(source: str, expected: object) -> None:
    assert parse(source).evaluate(VARS) == expected


@pytest.mark.parametrize(
    ("source", "column", "message"),
    [
        ("", 1, "empty expression"),
        ("a ==", 5, "expected a value, found end of expression"),
        ("(a == 1", 8, "expected ')'"),
        ("a < b < c", 7, "comparisons do not chain"),
        ("a == 'x", 6, "string not closed"),
        ("a @ b", 3, "unexpected character '@'"),
        ("a b", 3, "unexpected 'b'"),
        ("a not b", 7, "expected 'in'"),
        ("[1, 2", 6, "expected ','"),
        ("'\\q'", 2, "unknown escape \\q"),
        ("a == )", 6, "expected a value, found ')'"),
    ],
)
def test_syntax_errors_have_columns(source: str, column: int, message: str) -> None:
    with pytest.raises(ExprError) as info:
        parse(source)
    assert info.value.column == column
    assert message in info.value.message


@pytest.mark.parametrize(
    ("source", "column", "message"),
    [
        ("(" * 40 + "1" + ")" * 40, 33, "expression nested more than 32 levels deep"),
        ("not " * 40 + "x", 129, "expression nested more than 32 levels deep"),
        ("-" * 40 + "1", 33, "expression nested more than 32 levels deep"),
        ("[" * 40, 33, "expression nested more than 32 levels deep"),
        ("a + " * 200 + "a", 501, "expression longer than 500 characters"),
    ],
)
def test_bounds_keep_recursion_in_check(source: str, column: int, message: str) -> None:
    with pytest.raises(ExprError) as info:
        parse(source)
    assert (info.value.column, info.value.message) == (column, message)


def test_within_bounds_still_evaluates() -> None:
    assert parse("(" * 32 + "1" + ")" * 32).evaluate({}) == 1
    assert parse(" + ".join(["1"] * 120)).evaluate({}) == 120


def test_unset_variable_raises_instead_of_reading_empty() -> None:
    with pytest.raises(UnsetVariable) as info:
        parse("vip == '1'").evaluate(VARS)
    assert info.value.name == "vip"
    with pytest.raises(UnsetVariable):
        parse("order.missing == 1").evaluate(VARS)


def test_short_circuit_does_not_read_the_other_side() -> None:
    assert parse("language == 'es' or vip").evaluate(VARS) is True
    assert parse("empty and vip").evaluate(VARS) == ""


@pytest.mark.parametrize("source", ["language < 3", "order - 1", "1 in 2"])
def test_type_errors_at_run_time(source: str) -> None:
    with pytest.raises(EvalError):
        parse(source).evaluate(VARS)


def test_variables_read() -> None:
    assert parse("a.b == 1 and (c in [d, 'x']) or ${e}").variables() == {"a", "c", "d", "e"}


def test_interpolate() -> None:
    assert interpolate("Hola ${caller}", VARS) == "Hola +34600111222"
    assert interpolate("${order.status}/${order.total}", VARS) == "ok/12.5"
    assert interpolate("${name:-amigo}", VARS) == "amigo"
    assert interpolate("${name:-}", VARS) == ""
    assert interpolate("cost $${x} $5", VARS) == "cost ${x} $5"
    assert interpolate("no vars", {}) == "no vars"
    with pytest.raises(UnsetVariable):
        interpolate("Hola ${name}", VARS)
    assert interpolate("Hola ${name}!", VARS, strict=False) == "Hola !"
    assert interpolate("${flag}", {"flag": True, "n": 3.0}) == "true"
    assert interpolate("${n}", {"n": 3.0}) == "3"


@pytest.mark.parametrize(
    ("source", "column", "message"),
    [("Hola ${caller", 6, "not closed"), ("x ${1abc} y", 5, "not a variable name")],
)
def test_template_errors(source: str, column: int, message: str) -> None:
    with pytest.raises(ExprError) as info:
        parse_template(source)
    assert info.value.column == column
    assert message in info.value.message


def test_template_variables_skip_defaults() -> None:
    template = parse_template("${a} ${b:-x} ${c.d}")
    assert template.variables() == {"a", "c"}
    assert template.dynamic
    assert not parse_template("plain").dynamic


@given(st.text(max_size=40))
def test_any_text_parses_or_fails_with_a_column(source: str) -> None:
    try:
        expr = parse(source)
    except ExprError as exc:
        assert 1 <= exc.column <= len(source) + 1
        return
    with contextlib.suppress(EvalError):
        expr.evaluate({name: "1" for name in expr.variables()})


@given(st.text(max_size=40))
def test_any_text_is_a_template_or_fails_with_a_column(source: str) -> None:
    try:
        template = parse_template(source)
    except ExprError as exc:
        assert 1 <= exc.column <= len(source)
        return
    if "$" not in source:
        assert template.render({}) == source
