"""Menu and collect state machines as tables: keys in, steps out."""

from __future__ import annotations

import pytest

from agi_callbot.flow.menu import (
    MAX_REPEATS,
    TIMEOUT,
    Choose,
    Collected,
    Collector,
    Fail,
    MenuMachine,
    Play,
    Wait,
)
from agi_callbot.flow.model import Collect, Menu, Option, Prompt, Text

PROMPT = Prompt("m", Text({"": "Pulse 1 o 2"}))
NO_INPUT = Prompt("m.no_input", Text({"": "No le oigo"}))
INVALID = Prompt("m.invalid", Text({"": "No válida"}))


def menu(**overrides) -> Menu:
    options = overrides.pop("options", {"1": "sales", "2": "support", "0": "agent"})
    fields = {
        "prompt": PROMPT,
        "options": {d: Option(d, goto) for d, goto in options.items()},
        "no_input": NO_INPUT,
        "invalid": INVALID,
        "retries": 2,
        "on_fail": "agent",
    }
    return Menu(**{**fields, **overrides})


def describe(step) -> str:
    """A step as a short word for the tables."""
    if isinstance(step, Play):
        return "play:" + "+".join(p.id for p in step.prompts)
    if isinstance(step, Wait):
        return f"wait:{step.timeout:g}"
    if isinstance(step, Choose):
        return f"choose:{step.option.digits}"
    if isinstance(step, Collected):
        return f"collected:{step.value}"
    assert isinstance(step, Fail)
    return f"fail:{step.reason}:{step.attempts}"


def run(machine, keys: list[str]) -> list[str]:
    steps = [describe(machine.start())]
    for key in keys:
        steps.append(describe(machine.feed(key)))
    return steps


MENU_TABLE = [
    ("first key chooses", {}, ["1"], ["play:m", "choose:1"]),
    ("zero is a key like the others", {}, ["0"], ["play:m", "choose:0"]),
    ("no input then a choice", {}, [TIMEOUT, "2"], ["play:m", "play:m.no_input+m", "choose:2"]),
    ("invalid then a choice", {}, ["7", "1"], ["play:m", "play:m.invalid+m", "choose:1"]),
    (
        "three failures exhaust two retries",
        {},
        [TIMEOUT, "9", TIMEOUT],
        ["play:m", "play:m.no_input+m", "play:m.invalid+m", "fail:no_input:3"],
    ),
    ("no retries: first failure fails", {"retries": 0}, ["5"], ["play:m", "fail:invalid:1"]),
    (
        "without notices the prompt alone repeats",
        {"no_input": None, "invalid": None},
        [TIMEOUT, "4"],
        ["play:m", "play:m", "play:m"],
    ),
    ("lone terminator is invalid", {}, ["#", "1"], ["play:m", "play:m.invalid+m", "choose:1"]),
    (
        "hash as an option",
        {"options": {"#": "back"}, "terminator": None},
        ["#"],
        ["play:m", "choose:#"],
    ),
    ("star as an option", {"options": {"*": "back", "1": "a"}}, ["*"], ["play:m", "choose:*"]),
    (
        "repeat does not count as a failure",
        {"repeat": "*"},
        ["*", "*", "9", "*", "1"],
        ["play:m", "play:m", "play:m", "play:m.invalid+m", "play:m", "choose:1"],
    ),
    (
        "multi-digit option waits for the next key",
        {"options": {"1": "a", "10": "b", "11": "c"}, "inter_digit": 2.0},
        ["1", "0"],
        ["play:m", "wait:2", "choose:10"],
    ),
    (
        "multi-digit prefix chosen on inter-digit timeout",
        {"options": {"1": "a", "10": "b"}},
        ["1", TIMEOUT],
        ["play:m", "wait:2", "choose:1"],
    ),
    (
        "multi-digit prefix chosen by the terminator",
        {"options": {"1": "a", "10": "b"}},
        ["1", "#"],
        ["play:m", "wait:2", "choose:1"],
    ),
    (
        "incomplete multi-digit entry is invalid",
        {"options": {"10": "b", "11": "c"}},
        ["1", TIMEOUT, "1", "1"],
        ["play:m", "wait:2", "play:m.invalid+m", "wait:2", "choose:11"],
    ),
    (
        "a wrong second digit is invalid",
        {"options": {"10": "b"}},
        ["1", "5"],
        ["play:m", "wait:2", "play:m.invalid+m"],
    ),
]


@pytest.mark.parametrize(
    ("overrides", "keys", "expected"),
    [case[1:] for case in MENU_TABLE],
    ids=[case[0] for case in MENU_TABLE],
)
def test_menu_table(overrides, keys, expected) -> None:
    assert run(MenuMachine(menu(**overrides)), keys) == expected


def test_repeat_is_bounded() -> None:
    machine = MenuMachine(menu(repeat="*", retries=0))
    machine.start()
    steps = [describe(machine.feed("*")) for _ in range(MAX_REPEATS)]
    assert steps == ["play:m"] * MAX_REPEATS
    assert describe(machine.feed("*")) == "fail:invalid:1"


def test_barge_in_sets_the_escape_keys() -> None:
    assert MenuMachine(menu()).start().escape == "0123456789*#"
    assert MenuMachine(menu(barge_in=False)).start().escape == ""
    start = MenuMachine(menu(timeout=4.0)).start()
    assert start.timeout == 4.0 and start.reason is None
    retry = MenuMachine(menu())
    retry.start()
    assert retry.feed(TIMEOUT).reason == "no_input"


def test_choice_carries_the_option_and_failures() -> None:
    machine = MenuMachine(menu())
    machine.start()
    machine.feed("8")
    step = machine.feed("2")
    assert step == Choose(Option("2", "support"), 1)


def test_finished_machine_refuses_more_keys_and_bad_keys_are_errors() -> None:
    machine = MenuMachine(menu())
    machine.start()
    machine.feed("1")
    with pytest.raises(RuntimeError):
        machine.feed("2")
    fresh = MenuMachine(menu())
    fresh.start()
    with pytest.raises(ValueError, match="not a phone key"):
        fresh.feed("A")


# --------------------------------------------------------------------------- collect

COLLECT_PROMPT = Prompt("c", Text({"": "Marque su número"}))


def collect(**overrides) -> Collect:
    fields = {
        "prompt": COLLECT_PROMPT,
        "min_digits": 3,
        "max_digits": 5,
        "no_input": Prompt("c.no_input"),
        "invalid": Prompt("c.invalid"),
        "timeout": 6.0,
    }
    return Collect(**{**fields, **overrides})


COLLECT_TABLE = [
    ("terminator ends", {}, ["1", "2", "3", "#"],
     ["play:c", "wait:6", "wait:6", "wait:6", "collected:123"]),
    ("max length ends", {}, list("12345"),
     ["play:c", "wait:6", "wait:6", "wait:6", "wait:6", "collected:12345"]),
    ("timeout after digits ends", {}, ["1", "2", "3", TIMEOUT],
     ["play:c", "wait:6", "wait:6", "wait:6", "collected:123"]),
    ("too short is invalid", {}, ["1", "#", "1", "2", "3", "#"],
     ["play:c", "wait:6", "play:c.invalid+c", "wait:6", "wait:6", "wait:6", "collected:123"]),
    ("no input", {}, [TIMEOUT], ["play:c", "play:c.no_input+c"]),
    ("pattern rejects", {"pattern": "9[0-9]*"}, ["1", "2", "3", "#", "9", "0", "0", "#"],
     ["play:c", "wait:6", "wait:6", "wait:6", "play:c.invalid+c", "wait:6", "wait:6", "wait:6",
      "collected:900"]),
    ("retries exhausted", {"retries": 1}, [TIMEOUT, "#"],
     ["play:c", "play:c.no_input+c", "fail:invalid:2"]),
    ("star is a digit", {"terminator": None}, ["1", "*", "#", TIMEOUT],
     ["play:c", "wait:6", "wait:6", "wait:6", "collected:1*#"]),
    ("other terminator", {"terminator": "*"}, ["1", "2", "#", "*"],
     ["play:c", "wait:6", "wait:6", "wait:6", "collected:12#"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "keys", "expected"),
    [case[1:] for case in COLLECT_TABLE],
    ids=[case[0] for case in COLLECT_TABLE],
)
def test_collect_table(overrides, keys, expected) -> None:
    assert run(Collector(collect(**overrides)), keys) == expected


@pytest.mark.parametrize(
    ("digits", "timed_out", "expected"),
    [
        ("123", False, "collected:123"),
        ("12345", False, "collected:12345"),
        ("1234567", False, "collected:12345"),
        ("12", True, "play:c.invalid+c"),
        ("", True, "play:c.no_input+c"),
        ("", False, "play:c.invalid+c"),
        ("1234", True, "collected:1234"),
    ],
)
def test_collect_from_get_data(digits: str, timed_out: bool, expected: str) -> None:
    collector = Collector(collect())
    collector.start()
    assert describe(collector.submit(digits, timed_out)) == expected
