"""The environment block: byte tables from the real Asterisk 22.10.1 transcripts.

Each case is fed whole and one byte at a time; both must give the same Environment.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agi_callbot.agi.connection import NEED_DATA, Closed, Connection, Limits, State
from agi_callbot.agi.env import KNOWN_KEYS, Environment, environment_lines, parse_environment
from agi_callbot.errors import RemoteProtocolError
from agi_callbot.sim.transcript import load_transcript

TRANSCRIPTS = Path(__file__).resolve().parents[1] / "transcripts"


def env_block(name: str) -> bytes:
    """The env block exactly as transcript ``name`` recorded it, blank line included."""
    out = bytearray()
    for entry in load_transcript(TRANSCRIPTS / f"{name}.txt").entries:
        if entry.kind != "asterisk":
            break
        out += entry.data + b"\n"
    return bytes(out)


def feed(data: bytes, *, one_by_one: bool, limits: Limits | None = None) -> Environment:
    conn = Connection(limits)
    chunks = [data[i : i + 1] for i in range(len(data))] if one_by_one else [data]
    event = NEED_DATA
    for chunk in chunks:
        assert event is NEED_DATA, "environment finished before its last byte"
        conn.receive_data(chunk)
        event = conn.next_event()
    assert isinstance(event, Environment), event
    assert conn.state is State.IDLE
    return event


@pytest.mark.parametrize("one_by_one", [False, True], ids=["whole", "bytewise"])
def test_basic_block_from_01(one_by_one: bool) -> None:
    env = feed(env_block("01-env-basic"), one_by_one=one_by_one)
    assert env.network == "yes"
    assert env.network_script == "01-env-basic"
    assert env.request == "agi://127.0.0.1:4573/01-env-basic"
    assert env.channel == "Local/100@callbot-in-00000052;2"
    assert env.language == "en"
    assert env.type == "Local"
    assert env.uniqueid == "1795515630.165"
    assert env.version == "22.10.1"
    assert (env.callerid, env.calleridname) == ("15550100", "E2E Caller")
    assert (env.dnid, env.rdnis) == ("unknown", "unknown")
    assert (env.context, env.extension, env.priority) == ("callbot-in", "100", "8")
    assert env.enhanced == "0.0"
    # ``agi_accountcode: `` has a trailing blank: the value is empty, not " "
    assert env.accountcode == ""
    assert env.threadid == "140445473199808"
    assert env.args == ()
    assert env.unknown == ()
    assert env.script == "01-env-basic"
    assert env.query == {}
    assert env.caller_number == "15550100"


def test_every_known_key_is_in_01() -> None:
    """KNOWN_KEYS is exactly what Asterisk 22 sends, in its order."""
    keys = [
        line.split(b":", 1)[0].decode()[4:] for line in env_block("01-env-basic").split(b"\n")[:-2]
    ]
    assert tuple(keys) == KNOWN_KEYS


@pytest.mark.parametrize("one_by_one", [False, True], ids=["whole", "bytewise"])
def test_args_and_query_from_02(one_by_one: bool) -> None:
    env = feed(env_block("02-env-args-query"), one_by_one=one_by_one)
    assert env.network_script == "02-env-args-query?x=1&lang=en&name=J%20D"
    assert env.script == "02-env-args-query"
    assert env.query == {"x": "1", "lang": "en", "name": "J D"}
    # the third argument is empty (``agi_arg_3: ``); the dialplan ate the quotes of the fifth
    assert env.args == ("alpha", "two words", "", "semi;colon", "say hi")


def test_subpath_script_from_32() -> None:
    env = feed(env_block("32-url-default-port-subpath"), one_by_one=False)
    assert env.script == "32-url-default-port-subpath/sub/path"
    assert env.query == {"q": "1"}
    assert env.request == "agi://127.0.0.1/32-url-default-port-subpath/sub/path?q=1"


def test_odd_callerid_from_26_and_utf8_from_28() -> None:
    odd = feed(env_block("26-callerid-odd"), one_by_one=True)
    assert odd.callerid == "+15550100123"
    assert odd.calleridname == 'Doe, "JJ" Jr.'
    utf8 = feed(env_block("28-callerid-utf8-no-number"), one_by_one=True)
    assert utf8.calleridname == "José Müller ☎"
    assert utf8.callerid == "unknown"
    assert utf8.caller_number == ""


@pytest.mark.parametrize("one_by_one", [False, True], ids=["whole", "bytewise"])
def test_injected_line_from_27_is_not_trusted(one_by_one: bool) -> None:
    env = feed(env_block("27-callerid-newline"), one_by_one=one_by_one)
    assert env.calleridname == "Line1"
    assert env.unknown == ("injected",)
    assert not hasattr(env, "injected")
    assert "injected" not in env.as_dict()


def test_injected_known_key_does_not_override_the_real_ones() -> None:
    """A name with a newline can inject any key: the real lines still win (27's rule)."""
    lines = [line for line in env_block("01-env-basic").split(b"\n") if line]
    at = next(i for i, line in enumerate(lines) if line.startswith(b"agi_calleridname"))
    # keys sent before the name (channel, callerid...) keep their first value; keys sent
    # after it (dnid, context...) are sent again by Asterisk after the injected ones
    lines[at + 1 : at + 1] = [
        b"agi_channel: PJSIP/evil",
        b"agi_callerid: 666",
        b"agi_context: evil",
        b"agi_arg_1: evil",
    ]
    env = parse_environment(lines)
    assert env.channel == "Local/100@callbot-in-00000052;2"
    assert env.callerid == "15550100"
    assert env.context == "callbot-in"
    assert env.args == ("evil",)  # no real argument: the injected one is all there is


def test_values_keep_colons_and_inner_blanks() -> None:
    env = parse_environment(
        [b"agi_network: yes", b"agi_calleridname:  two  blanks: and a colon ", b"agi_dnid:"]
    )
    # only the one blank after the colon belongs to the syntax
    assert env.calleridname == " two  blanks: and a colon "
    assert env.dnid == ""


def test_argument_gaps_and_order() -> None:
    env = parse_environment([b"agi_arg_3: c", b"agi_arg_1: a", b"agi_arg_10: j"])
    assert env.args == ("a", "", "c", "", "", "", "", "", "", "j")


def test_unknown_and_odd_keys_are_kept_for_logs_only() -> None:
    env = parse_environment([b"agi_arg_0: zero", b"agi_future_key: 1", b"agi_network: yes"])
    assert env.args == ()
    assert env.unknown == ("arg_0", "future_key")
    assert env.network == "yes"


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    env = parse_environment([b"agi_calleridname: caf\xe9 \xff"])
    assert env.calleridname == "caf\ufffd \ufffd"


@pytest.mark.parametrize(
    "block",
    [
        b"\n",  # no variable at all
        b"agi_network yes\n\n",  # no colon
        b"network: yes\n\n",  # not an agi_ key
        b"200 result=0\n\n",  # a reply where the env block should be
        b"HANGUP\n\n",
    ],
)
def test_malformed_blocks_are_remote_errors(block: bytes) -> None:
    conn = Connection()
    conn.receive_data(block)
    with pytest.raises(RemoteProtocolError):
        conn.next_event()


def test_block_line_count_is_capped() -> None:
    conn = Connection(Limits(env_lines=10))
    conn.receive_data(b"".join(b"agi_arg_%d: x\n" % n for n in range(1, 12)))
    with pytest.raises(RemoteProtocolError, match="over 10 lines"):
        conn.next_event()


def test_block_size_is_capped() -> None:
    conn = Connection(Limits(env_bytes=1000))
    conn.receive_data(b"agi_calleridname: " + b"x" * 600 + b"\n")
    assert conn.next_event() is NEED_DATA
    conn.receive_data(b"agi_dnid: " + b"y" * 600 + b"\n")
    with pytest.raises(RemoteProtocolError, match="over 1000 bytes"):
        conn.next_event()


def test_a_line_without_end_is_capped_before_its_newline() -> None:
    """No unbounded buffer: a peer streaming one endless line is cut off early."""
    conn = Connection(Limits(line_bytes=4096))
    conn.receive_data(b"agi_network: yes\nagi_calleridname: ")
    assert conn.next_event() is NEED_DATA
    for _ in range(3):
        conn.receive_data(b"z" * 1024)
        assert conn.next_event() is NEED_DATA
    conn.receive_data(b"z" * 2048)
    with pytest.raises(RemoteProtocolError, match="longer than 4096"):
        conn.next_event()


def test_default_caps_hold_a_real_block_with_many_args() -> None:
    block = env_block("01-env-basic")[:-1]
    block += b"".join(b"agi_arg_%d: %s\n" % (n, b"v" * 200) for n in range(1, 100)) + b"\n"
    env = feed(block, one_by_one=False)
    assert len(env.args) == 99


@pytest.mark.parametrize("cut", [0, 1, 10, 100, -2, -1])
def test_eof_inside_the_block_is_closed(cut: int) -> None:
    block = env_block("01-env-basic")
    conn = Connection()
    conn.receive_data(block[: cut % len(block)])
    conn.receive_data(b"")
    assert conn.next_event() == Closed()
    assert conn.state is State.CLOSED
    assert conn.environment is None
    assert conn.next_event() == Closed()


def test_environment_lines_round_trip() -> None:
    env = feed(env_block("02-env-args-query"), one_by_one=False)
    again = parse_environment(environment_lines(env))
    assert again == env
    assert b"\n".join(environment_lines(env)) + b"\n\n" == env_block("02-env-args-query")


@pytest.mark.parametrize(
    ("script", "flow", "query"),
    [
        ("soporte", "soporte", {}),
        ("soporte?language=en&x=1", "soporte", {"language": "en", "x": "1"}),
        ("a/b?x=1&x=2", "a/b", {"x": "2"}),  # the last value wins
        ("demo?empty=&flag", "demo", {"empty": "", "flag": ""}),
        ("demo?name=J%20D&plus=a+b", "demo", {"name": "J D", "plus": "a b"}),
        ("demo?q=1?2", "demo", {"q": "1?2"}),
        ("", "", {}),
    ],
)
def test_script_and_query(script: str, flow: str, query: dict[str, str]) -> None:
    env = Environment(network_script=script)
    assert env.script == flow
    assert env.query == query


def test_a_caller_name_line_without_agi_prefix_is_kept_aside() -> None:
    """``CALLERID(name)`` = ``A\\nB`` sends a line ``B``: the block still parses (27)."""
    conn = Connection()
    conn.receive_data(
        b"agi_network: yes\nagi_calleridname: A\nB: x\nplain\nagi_callerid: 15550100\n\n"
    )
    env = conn.next_event()
    assert isinstance(env, Environment)
    assert (env.calleridname, env.callerid) == ("A", "15550100")
    assert env.unknown == ("B: x", "plain")
