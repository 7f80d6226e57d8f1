"""Caller-controlled text can never add a command line or change how Asterisk splits one.

Properties over :func:`agi_callbot.agi.commands.quote` and every command class, with
any text (newlines, quotes, backslashes, tabs, UTF-8, 8 KB strings): building the
bytes either refuses with ``LocalProtocolError`` or gives exactly one line, no CR or
NUL, within Asterisk's 8191-byte read, that Asterisk's own argument parser
(``parse_args`` of res_agi.c, modelled below) splits back into the words we meant.
"""

from __future__ import annotations

import dataclasses
import json
import typing

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agi_callbot.agi import commands as cmd
from agi_callbot.errors import LocalProtocolError

MAX_ARGS = 128  # res_agi.c


def asterisk_parse_args(line: str) -> list[str]:
    """res_agi.c ``parse_args``: blanks split words, ``"`` toggles quoting, ``\\`` escapes."""
    words: list[list[str]] = []
    quoted = escaped = False
    whitespace = True
    for ch in line:
        if ch == '"' and not escaped:
            quoted = not quoted
            if quoted and whitespace:
                words.append([])
                whitespace = False
            continue
        if ch in " \t" and not quoted and not escaped:
            whitespace = True
            continue
        if ch == "\\" and not escaped:
            escaped = True
            continue
        if whitespace:
            if len(words) >= MAX_ARGS - 1:
                continue
            words.append([])
            whitespace = False
        words[-1].append(ch)
        escaped = False
    return ["".join(w) for w in words]


def test_the_parser_model_matches_asterisk_on_known_lines() -> None:
    # lines and splits from tests/transcripts (07, 08) and res_agi.c's behaviour
    assert asterisk_parse_args('SET VARIABLE "X" "a b"') == ["SET", "VARIABLE", "X", "a b"]
    assert asterisk_parse_args('EXEC Dial "PJSIP/1001,20"') == ["EXEC", "Dial", "PJSIP/1001,20"]
    assert asterisk_parse_args(r'VERBOSE "say \"hi\" \\ ok" 1') == [
        "VERBOSE",
        'say "hi" \\ ok',
        "1",
    ]
    assert asterisk_parse_args('NOOP ""') == ["NOOP", ""]
    assert asterisk_parse_args("A  B\tC") == ["A", "B", "C"]


FORBIDDEN = "\n\r\0"
# text as callers and webhooks produce it: quotes, escapes, blanks, line breaks, UTF-8
nasty = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("\"\\ \t\n\r\0'$(){},;|&`*#")),
        st.characters(blacklist_categories=("Cs",)),
    ),
    max_size=64,
)
long_text = st.builds(lambda s, n: (s * n)[:8192], nasty.filter(bool), st.integers(1, 8192))
any_text = st.one_of(nasty, long_text)
digits = st.one_of(st.text(alphabet="0123456789*#ABCDabcd", max_size=12), any_text)
numbers = st.integers(min_value=-(2**40), max_value=2**40)


def check_line(command: cmd.Command, expected_args: list[str]) -> None:
    try:
        data = command.to_bytes()
    except LocalProtocolError:
        return
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    assert b"\r" not in data and b"\0" not in data
    assert len(data) <= cmd.MAX_LINE
    words = asterisk_parse_args(data[:-1].decode("utf-8"))
    assert words == [*command.verb.split(), *expected_args]


@given(any_text)
@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
def test_quote_round_trips_or_refuses(text: str) -> None:
    if any(c in text for c in FORBIDDEN):
        with pytest.raises(LocalProtocolError):
            cmd.quote(text)
        return
    quoted = cmd.quote(text)
    assert not any(c in quoted for c in FORBIDDEN)
    assert asterisk_parse_args(quoted) == [text]
    assert asterisk_parse_args(f"NOOP {quoted} {quoted}") == ["NOOP", text, text]


@pytest.mark.parametrize("text", ["\ud800", "Ana \udcff", "\udfff\ud800x"])
def test_lone_surrogates_are_a_clean_refusal_never_a_crash(text: str) -> None:
    """Webhook JSON may carry lone surrogates (``"\\ud800"``): refused cleanly, never a crash."""
    assert json.loads(json.dumps(text)) == text
    for command in (cmd.SetVariable("X", text), cmd.Verbose(text), cmd.StreamFile(text)):
        with pytest.raises(LocalProtocolError):
            command.to_bytes()


@given(any_text)
@settings(max_examples=500)
def test_the_engines_parse_args_agrees_with_the_res_agi_model(text: str) -> None:
    """The in-memory Asterisk splits lines with ``commands.parse_args``: it must be res_agi's."""
    line = text.replace("\n", " ")
    if len(asterisk_parse_args(line)) < MAX_ARGS - 1:
        assert cmd.parse_args(line) == asterisk_parse_args(line)


def strategy_for(cls: type[cmd.Command]) -> st.SearchStrategy[cmd.Command]:
    """Any value for every field of ``cls``: text fields get hostile text."""
    hints = typing.get_type_hints(cls)
    fields = {}
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        optional = type(None) in typing.get_args(tp)
        if optional:
            (tp,) = [a for a in typing.get_args(tp) if a is not type(None)]
        if tp is bool:
            strategy = st.booleans()
        elif tp is int:
            strategy = numbers
        elif tp is cmd.Wait:
            strategy = st.sampled_from(cmd.Wait)
        elif tp is str and ("digit" in f.name or f.name in ("forward", "rewind", "pause")):
            strategy = digits
        elif tp is str:
            strategy = any_text
        else:
            raise AssertionError(f"{cls.__name__}.{f.name}: no strategy for {tp!r}")
        fields[f.name] = st.one_of(st.none(), strategy) if optional else strategy
    return st.builds(cls, **fields)


def expected_args(command: cmd.Command) -> list[str]:
    """The words after the verb as we mean them, read from the command's own fields."""
    words = command.words()[1:]  # the first word is the verb, spaces and all
    values = {str(getattr(command, f.name)) for f in dataclasses.fields(command)}
    args = []
    for word in words:
        if word.startswith('"'):
            (word,) = asterisk_parse_args(word)
            assert word in values, f"{word!r} is none of the command's fields"
        args.append(word)
    return args


ALL_COMMANDS = sorted(
    (c for c in vars(cmd).values()
     if isinstance(c, type) and issubclass(c, cmd.Command) and c is not cmd.Command
     and not c.__name__.startswith("_")),
    key=lambda c: c.__name__,
)  # fmt: skip


def test_every_command_class_is_covered() -> None:
    names = {c.__name__ for c in ALL_COMMANDS}
    assert {"StreamFile", "GetData", "Exec", "SetVariable", "Verbose", "Raw"} <= names


@pytest.mark.parametrize("cls", ALL_COMMANDS, ids=lambda c: c.__name__)
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.data())
def test_no_command_can_be_split_or_extended_by_its_arguments(
    cls: type[cmd.Command], data: st.DataObject
) -> None:
    command = data.draw(strategy_for(cls))
    if isinstance(command, cmd.Raw):
        try:
            payload = command.to_bytes()
        except LocalProtocolError:
            return
        assert payload.count(b"\n") == 1 and payload.endswith(b"\n")
        assert b"\r" not in payload and b"\0" not in payload and len(payload) <= cmd.MAX_LINE
        return
    try:
        args = expected_args(command)
    except LocalProtocolError:
        with pytest.raises(LocalProtocolError):
            command.to_bytes()
        return
    check_line(command, args)


@given(name=any_text, value=any_text)
@settings(max_examples=300)
def test_set_variable_carries_exactly_the_callers_text(name: str, value: str) -> None:
    """A caller name becomes a variable value verbatim, or the command is refused."""
    command = cmd.SetVariable(name, value)
    try:
        data = command.to_bytes()
    except LocalProtocolError:
        if not any(c in name + value for c in FORBIDDEN):
            line = f"SET VARIABLE {cmd.quote(name)} {cmd.quote(value)}\n"
            assert len(line.encode()) > cmd.MAX_LINE
        return
    assert asterisk_parse_args(data[:-1].decode()) == ["SET", "VARIABLE", name, value]
