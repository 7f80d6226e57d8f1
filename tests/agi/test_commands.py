"""Commands to bytes: quoting, refusals and the 8191-byte read of Asterisk.

The round trip goes through the in-memory Asterisk's ``parse_args``, the port of
res_agi's argument splitter (blanks, ``"`` toggling, ``\\`` escaping), so what we
build is what Asterisk reads back, for any text a flow may hand us.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from agi_callbot.agi import commands as cmd
from agi_callbot.agi.commands import MAX_LINE, Wait, command_wait, parse_args, quote
from agi_callbot.errors import LocalProtocolError

# text a flow may pass: anything but the three refused characters and lone surrogates
SAFE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\0"),
    max_size=200,
)

# (command, exact bytes); rows in transcript syntax where one exists
TABLE = [
    (cmd.Answer(), b"ANSWER\n"),
    (cmd.HangupChannel(), b"HANGUP\n"),
    (
        cmd.HangupChannel("Local/nope@nowhere-00000000;1"),
        b'HANGUP "Local/nope@nowhere-00000000;1"\n',
    ),
    (cmd.Noop(), b"NOOP\n"),
    (cmd.Noop("after queue"), b'NOOP "after queue"\n'),
    (cmd.ChannelStatus(), b"CHANNEL STATUS\n"),
    (cmd.StreamFile("callbot-e2e/welcome", "12#"), b'STREAM FILE "callbot-e2e/welcome" "12#"\n'),
    (cmd.StreamFile("callbot-e2e/welcome"), b'STREAM FILE "callbot-e2e/welcome" ""\n'),
    (
        cmd.StreamFile("callbot-e2e/welcome", "", 8000),
        b'STREAM FILE "callbot-e2e/welcome" "" 8000\n',
    ),
    (
        cmd.ControlStreamFile("callbot-e2e/long", "1", 3000, "#", "*", "5"),
        b'CONTROL STREAM FILE "callbot-e2e/long" "1" 3000 "#" "*" "5"\n',
    ),
    (
        cmd.ControlStreamFile("callbot-e2e/welcome", "", 3000, "", "", "", 1500),
        b'CONTROL STREAM FILE "callbot-e2e/welcome" "" 3000 "" "" "" 1500\n',
    ),
    (cmd.GetData("callbot-e2e/menu", 3000, 4), b'GET DATA "callbot-e2e/menu" 3000 4\n'),
    (
        cmd.GetOption("callbot-e2e/welcome", "12", 2000),
        b'GET OPTION "callbot-e2e/welcome" "12" 2000\n',
    ),
    (cmd.WaitForDigit(2000), b"WAIT FOR DIGIT 2000\n"),
    (cmd.WaitForDigit(), b"WAIT FOR DIGIT -1\n"),
    (cmd.SayDigits("4567", "#"), b'SAY DIGITS "4567" "#"\n'),
    (cmd.SayNumber("1", "", "f"), b'SAY NUMBER "1" "" f\n'),
    (cmd.SayAlpha("ab"), b'SAY ALPHA "ab" ""\n'),
    (cmd.Exec("Queue", "sales,c"), b'EXEC Queue "sales,c"\n'),
    (
        cmd.Exec("Dial", "Local/echo@callbot-agents,10,g"),
        b'EXEC Dial "Local/echo@callbot-agents,10,g"\n',
    ),
    (cmd.Exec("Set", "CALLBOT_FROM_EXEC2=a,b"), b'EXEC Set "CALLBOT_FROM_EXEC2=a,b"\n'),
    (
        cmd.SetVariable("CALLBOT_Q", 'say "hi" (twice)'),
        b'SET VARIABLE "CALLBOT_Q" "say \\"hi\\" (twice)"\n',
    ),
    (cmd.SetVariable("CALLBOT_EMPTY", ""), b'SET VARIABLE "CALLBOT_EMPTY" ""\n'),
    (cmd.GetVariable("CALLERID(num)"), b'GET VARIABLE "CALLERID(num)"\n'),
    (
        cmd.GetFullVariable("${CALLBOT_RESULT} via ${CHANNEL(state)}"),
        b'GET FULL VARIABLE "${CALLBOT_RESULT} via ${CHANNEL(state)}"\n',
    ),
    (cmd.SetMusic(True), b"SET MUSIC ON\n"),
    (cmd.SetMusic(True, "alt"), b'SET MUSIC ON "alt"\n'),
    (cmd.SetMusic(False), b"SET MUSIC OFF\n"),
    (cmd.Verbose("hello from the callbot", 1), b'VERBOSE "hello from the callbot" 1\n'),
    (cmd.Raw("GET DATA callbot-e2e/goodbye"), b"GET DATA callbot-e2e/goodbye\n"),
]


@pytest.mark.parametrize(("command", "wire"), TABLE, ids=[str(c) for c, _ in TABLE])
def test_command_bytes(command: cmd.Command, wire: bytes) -> None:
    assert command.to_bytes() == wire
    assert str(command) == wire[:-1].decode()


@pytest.mark.parametrize(("command", "wire"), TABLE, ids=[str(c) for c, _ in TABLE])
def test_asterisk_reads_back_the_words(command: cmd.Command, wire: bytes) -> None:
    """What res_agi splits equals the words we meant (keywords are several words)."""
    words = [
        w for part in command.words() for w in ([part] if part.startswith('"') else part.split())
    ]
    read = parse_args(wire[:-1].decode())
    assert read == [parse_args(w)[0] if w.startswith('"') else w for w in words]


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('SET VARIABLE CALLBOT_CR "v"\r', ["SET", "VARIABLE", "CALLBOT_CR", "v\r"]),  # 16
        ("GET VARIABLE CALLBOT_CR\r", ["GET", "VARIABLE", "CALLBOT_CR\r"]),  # 16
        ('EXEC Set "CALLBOT_FROM_EXEC2=a,b"', ["EXEC", "Set", "CALLBOT_FROM_EXEC2=a,b"]),  # 08
        (
            'SET VARIABLE CALLBOT_Q "say \\"hi\\" (twice)"',
            ["SET", "VARIABLE", "CALLBOT_Q", 'say "hi" (twice)'],
        ),
        ('STREAM FILE x ""', ["STREAM", "FILE", "x", ""]),  # 06: empty escape digits
        ("  NOOP leading blanks", ["NOOP", "leading", "blanks"]),  # 16
        ("a\tb", ["a", "b"]),
        ('ab"c d"e', ["abc de"]),  # a quote inside a word does not split it
        ("a\\ b", ["a b"]),  # an escaped blank
        ('"\\\\"', ["\\"]),
        ("trailing\\", ["trailing"]),
        ("", []),
    ],
)
def test_parse_args_like_res_agi(line: str, words: list[str]) -> None:
    assert parse_args(line) == words


@given(SAFE_TEXT)
@example('say "hi" (twice)')
@example("back\\slash\\")
@example('\\"')
@example("José Müller ☎ \t tab")
@example("")
@settings(max_examples=300, deadline=None)
def test_quote_round_trips_through_parse_args(value: str) -> None:
    line = cmd.SetVariable("CALLBOT_X", value).to_bytes()
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert parse_args(line[:-1].decode("utf-8")) == ["SET", "VARIABLE", "CALLBOT_X", value]
    assert parse_args(quote(value)) == [value]


@given(SAFE_TEXT, SAFE_TEXT)
@settings(max_examples=100, deadline=None)
def test_every_quoted_argument_round_trips(first: str, second: str) -> None:
    built = [
        (cmd.StreamFile(first), [first, ""]),
        (cmd.GetData(first, 3000, 4), [first, "3000", "4"]),
        (cmd.GetFullVariable(first, second), [first, second] if second else [first]),
        (cmd.Verbose(first, 3), [first, "3"]),
        (cmd.Exec("Playback", first), ["Playback", first]),
        (cmd.Noop(first), [first] if first else []),
        (cmd.SayAlpha(first), [first, ""]),
    ]
    for command, args in built:
        read = parse_args(command.to_bytes()[:-1].decode("utf-8"))
        assert read[len(read) - len(args) :] == args, command


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\0b", "\n", "v\r"])
def test_quote_refuses_line_breaks_and_nul(bad: str) -> None:
    with pytest.raises(LocalProtocolError, match="line break or NUL"):
        quote(bad)
    for command in (
        cmd.SetVariable("X", bad),
        cmd.StreamFile(bad),
        cmd.GetFullVariable(bad),
        cmd.Verbose(bad),
        cmd.Exec("Set", bad),
        cmd.Raw("NOOP " + bad),
    ):
        with pytest.raises(LocalProtocolError):
            command.to_bytes()


@pytest.mark.parametrize("text", ["", " ", "\t  "])
def test_raw_refuses_an_empty_line(text: str) -> None:
    """16: an empty line is answered 510 by Asterisk; we never send one."""
    with pytest.raises(LocalProtocolError, match="empty"):
        cmd.Raw(text).to_bytes()


@pytest.mark.parametrize(
    "command",
    [
        cmd.StreamFile("x", "12x"),
        cmd.GetOption("x", "1 2"),
        cmd.SayDigits("1", '"'),
        cmd.ControlStreamFile("x", "1", 3000, "##x"),
        cmd.Exec("Set Var", "x"),
        cmd.Exec("", "x"),
        cmd.SayNumber("1", "", 'f" x'),
    ],
)
def test_keywords_and_digits_are_checked(command: cmd.Command) -> None:
    with pytest.raises(LocalProtocolError):
        command.to_bytes()


def test_the_8191_byte_read_of_17() -> None:
    """Asterisk reads 8191 bytes, newline included: one byte more would run truncated."""
    head = 'SET VARIABLE "CALLBOT_LONG2" ""'
    room = MAX_LINE - len(head) - 1  # the newline
    fits = cmd.SetVariable("CALLBOT_LONG2", "b" * room)
    assert len(fits.to_bytes()) == MAX_LINE == 8191
    with pytest.raises(LocalProtocolError, match="8192 bytes; Asterisk reads at most 8191"):
        cmd.SetVariable("CALLBOT_LONG2", "b" * (room + 1)).to_bytes()
    # 17's own line: 20029 bytes and its newline
    with pytest.raises(LocalProtocolError, match="20030 bytes"):
        cmd.Raw('SET VARIABLE CALLBOT_LONG2 "' + "b" * 20000 + '"').to_bytes()


def test_the_limit_counts_utf8_bytes_not_characters() -> None:
    value = "☎" * 2800  # 8400 bytes in 2800 characters
    with pytest.raises(LocalProtocolError):
        cmd.SetVariable("X", value).to_bytes()


def test_commands_are_frozen_values() -> None:
    a = cmd.StreamFile("x", "1")
    assert a == cmd.StreamFile("x", "1") and hash(a) == hash(cmd.StreamFile("x", "1"))
    with pytest.raises(AttributeError):
        a.file = "y"  # type: ignore[misc]


def test_waits_pick_the_reply_deadline() -> None:
    assert command_wait(cmd.Noop()) is Wait.QUICK
    assert command_wait(cmd.SetVariable("a", "b")) is Wait.QUICK
    assert command_wait(cmd.StreamFile("x")) is Wait.MEDIA
    assert command_wait(cmd.GetData("x")) is Wait.MEDIA
    assert command_wait(cmd.Exec("Queue", "sales")) is Wait.EXEC
    assert command_wait(cmd.Raw("NOOP", Wait.QUICK)) is Wait.QUICK


def test_a_lone_surrogate_is_a_local_protocol_error() -> None:
    """Text decoded with ``surrogateescape`` cannot be sent: refused like any bad argument."""
    with pytest.raises(LocalProtocolError, match="not valid Unicode"):
        cmd.SetVariable("X", "caf\udce9").to_bytes()


@pytest.mark.parametrize(
    "command",
    [cmd.Exec("Set\n"), cmd.SayNumber("1", "", "f\n"), cmd.StreamFile("x", "1\n")],
)
def test_a_trailing_newline_does_not_slip_through_the_name_checks(command: cmd.Command) -> None:
    """``$`` matches before a final newline: names are checked whole (found by fuzzing)."""
    with pytest.raises(LocalProtocolError):
        command.to_bytes()
