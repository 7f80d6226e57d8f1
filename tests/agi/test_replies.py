"""Reply parsing and the connection's state machine, as byte tables.

Every reply shape here was seen on a real Asterisk 22.10.1 (the transcript named in
each row). Each row is fed whole and one byte at a time: both give the same events.
"""

from __future__ import annotations

import pytest

from agi_callbot.agi.commands import GetData, Noop, Raw, StreamFile
from agi_callbot.agi.connection import NEED_DATA, Closed, Connection, HangupNotice, Limits, State
from agi_callbot.agi.env import Environment
from agi_callbot.agi.replies import Reply
from agi_callbot.errors import LocalProtocolError, RemoteProtocolError

ENV = b"agi_network: yes\nagi_channel: Local/100@callbot-in-00000052;2\n\n"


def idle(limits: Limits | None = None) -> Connection:
    conn = Connection(limits)
    conn.receive_data(ENV)
    assert isinstance(conn.next_event(), Environment)
    return conn


def events(conn: Connection, data: bytes, *, one_by_one: bool) -> list[object]:
    """Everything ``data`` produces, up to NEED_DATA (or Closed)."""
    out: list[object] = []
    chunks = [data[i : i + 1] for i in range(len(data))] if one_by_one else [data]
    for chunk in chunks:
        conn.receive_data(chunk)
        while True:
            event = conn.next_event()
            if event is NEED_DATA:
                break
            out.append(event)
            if isinstance(event, Closed):
                return out
    return out


def answer(wire: bytes, *, one_by_one: bool = False) -> list[object]:
    conn = idle()
    conn.send(Raw("NOOP"))
    return events(conn, wire, one_by_one=one_by_one)


USAGE_16 = (
    b"520-Invalid command syntax.  Proper usage follows:\n"
    b"Returns the status of the specified <replaceable>channelname</replaceable>. If no"
    b" channel name is given then returns the status of the current channel.\n"
    b"Return values:\n"
    b"    <enum>0</enum> - Channel is down and available.\n"
    b"    <enum>7</enum> - Line is busy.\n"
    b"520 End of proper usage.\n"
)

# (wire bytes, the one Reply they make); the comment names the transcript it comes from
REPLIES = [
    (b"200 result=0\n", Reply(200, "0")),  # 01 NOOP
    (b"200 result=1\n", Reply(200, "1")),  # 07 SET VARIABLE
    (b"200 result=-1\n", Reply(200, "-1")),  # 04 GET DATA of a missing file
    (b"200 result=-2\n", Reply(200, "-2")),  # 08 EXEC of an unknown app
    (b"200 result=\n", Reply(200, "")),  # 04 GET DATA: only '#'
    (b"200 result=1234\n", Reply(200, "1234")),  # 04 maxdigits reached
    (b"200 result=0042\n", Reply(200, "0042")),  # digit strings keep their zeros
    (b"200 result= (timeout)\n", Reply(200, "", "timeout")),  # 04 no input
    (b"200 result=7 (timeout)\n", Reply(200, "7", "timeout")),  # 04
    (b"200 result=*1 (timeout)\n", Reply(200, "*1", "timeout")),  # 04
    (b"200 result=1 (hello world)\n", Reply(200, "1", "hello world")),  # 07
    (b"200 result=1 ()\n", Reply(200, "1", "")),  # 07 GET FULL VARIABLE of an unset one
    (b'200 result=1 (say "hi" (twice))\n', Reply(200, "1", 'say "hi" (twice)')),  # 07
    (
        b'200 result=1 ("Doe, "JJ" Jr." <+15550100123>)\n',  # 26 CALLERID(all)
        Reply(200, "1", '"Doe, "JJ" Jr." <+15550100123>'),
    ),
    (b"200 result=1 ((slin),slin)\n", Reply(200, "1", "(slin),slin")),  # 36
    (b"200 result=1 (SUCCESS,-1,)\n", Reply(200, "1", "SUCCESS,-1,")),  # 37
    (b"200 result=1 (v\r)\n", Reply(200, "1", "v\r")),  # 16: the CR Asterisk kept
    ("200 result=1 (José Müller ☎)\n".encode(), Reply(200, "1", "José Müller ☎")),  # 28
    (b"200 result=1 (x) endpos=5)\n", Reply(200, "1", "x) endpos=5")),  # a value fooling us
    (b"200 result=0 endpos=16000\n", Reply(200, "0", endpos=16000)),  # 03
    (b"200 result=50 endpos=10720\n", Reply(200, "50", endpos=10720)),  # 03 escape digit
    (b"200 result=-1 endpos=0\n", Reply(200, "-1", endpos=0)),  # 03 missing file
    (b"200 result=0 endpos=-1\n", Reply(200, "0", endpos=-1)),  # 37 CONTROL STREAM FILE
    (b"200 result=49 endpos=1100\n", Reply(200, "49", endpos=1100)),  # 37
    (
        b"200 result=1 (Line1\nagi_injected: yes)\n",  # 27: a value with a newline
        Reply(200, "1", "Line1\nagi_injected: yes"),
    ),
    (b"200 result=1 (a\nb\n\nc)\n", Reply(200, "1", "a\nb\n\nc")),  # several newlines
    (
        b"520 Invalid command syntax.  Proper usage not available.\n",  # res_agi, no usage
        Reply(520, text="Invalid command syntax.  Proper usage not available."),
    ),
    (b"510 Invalid or unknown command\n", Reply(510, text="Invalid or unknown command")),  # 16
    (
        b"511 Command Not Permitted on a dead channel or intercept routine\n",  # 15
        Reply(511, text="Command Not Permitted on a dead channel or intercept routine"),
    ),
    (
        b"520-Invalid command syntax.  Proper usage follows:\n"
        b"Sets a variable to the current channel.\n"
        b"520 End of proper usage.\n",  # 07
        Reply(520, text="Sets a variable to the current channel."),
    ),
    (
        USAGE_16,  # 16: indented lines and markup are kept as they are
        Reply(
            520,
            text=(
                "Returns the status of the specified <replaceable>channelname</replaceable>."
                " If no channel name is given then returns the status of the current channel.\n"
                "Return values:\n"
                "    <enum>0</enum> - Channel is down and available.\n"
                "    <enum>7</enum> - Line is busy."
            ),
        ),
    ),
]


@pytest.mark.parametrize("one_by_one", [False, True], ids=["whole", "bytewise"])
@pytest.mark.parametrize(("wire", "reply"), REPLIES, ids=[repr(w[:30]) for w, _ in REPLIES])
def test_reply_table(wire: bytes, reply: Reply, one_by_one: bool) -> None:
    assert answer(wire, one_by_one=one_by_one) == [reply]


def test_reply_helpers() -> None:
    assert Reply(200, "49").value == 49
    assert Reply(200, "").value == -1
    assert Reply(200, "*1").value == -1
    assert Reply(200, "0042").value == 42 and Reply(200, "0042").result == "0042"
    assert Reply(200, "", "timeout").timed_out
    assert not Reply(200, "1", "timeout x").timed_out
    assert Reply(200, "0").ok and not Reply(510).ok


@pytest.mark.parametrize(
    "wire",
    [
        b"200 result=0 endpos=abc\n",
        b"200 result=0 garbage\n",
        b"200 resul=0\n",
        b"201 result=0\n",
        b"500 Internal\n",
        b"hello\n",
        b"\n",
        b"\x00\xff\n",
    ],
)
def test_garbage_replies_are_remote_errors(wire: bytes) -> None:
    conn = idle()
    conn.send(Noop())
    conn.receive_data(wire)
    with pytest.raises(RemoteProtocolError):
        conn.next_event()


def test_an_unclosed_value_waits_for_its_next_line() -> None:
    """27: ``(`` without ``)`` at the end means the value went on after a newline."""
    conn = idle()
    conn.send(Noop())
    conn.receive_data(b"200 result=1 (half) open\n")
    assert conn.next_event() is NEED_DATA
    conn.receive_data(b"rest)\n")
    assert conn.next_event() == Reply(200, "1", "half) open\nrest")


def test_a_multi_line_value_is_capped() -> None:
    conn = idle(Limits(reply_lines=8))
    conn.send(Noop())
    conn.receive_data(b"200 result=1 (a\n" + b"b\n" * 7)
    assert conn.next_event() is NEED_DATA
    conn.receive_data(b"c\n")
    with pytest.raises(RemoteProtocolError, match="longer than 8 lines"):
        conn.next_event()


def test_usage_text_is_capped() -> None:
    conn = idle(Limits(usage_lines=5))
    conn.send(Noop())
    conn.receive_data(b"520-Invalid command syntax.  Proper usage follows:\n" + b"doc\n" * 5)
    assert conn.next_event() is NEED_DATA
    conn.receive_data(b"doc\n")
    with pytest.raises(RemoteProtocolError, match="over 5 lines"):
        conn.next_event()


def test_a_huge_reply_line_is_refused() -> None:
    conn = idle()
    conn.send(Noop())
    conn.receive_data(b"200 result=1 (" + b"x" * (1024 * 1024))
    with pytest.raises(RemoteProtocolError, match="longer than"):
        conn.next_event()


# -- HANGUP notices ---------------------------------------------------------------------


@pytest.mark.parametrize("one_by_one", [False, True], ids=["whole", "bytewise"])
def test_hangup_after_the_reply_of_the_interrupted_command(one_by_one: bool) -> None:
    """18: the reply to STREAM FILE first, then the notice."""
    conn = idle()
    conn.send(StreamFile("callbot-e2e/long"))
    got = events(conn, b"200 result=-1 endpos=12160\nHANGUP\n", one_by_one=one_by_one)
    assert got == [Reply(200, "-1", endpos=12160), HangupNotice()]
    assert conn.dead and conn.state is State.IDLE


def test_hangup_while_idle() -> None:
    """20: nothing was sent; the notice arrives on its own."""
    conn = idle()
    assert events(conn, b"HANGUP\n", one_by_one=True) == [HangupNotice()]
    assert conn.dead and conn.state is State.IDLE
    conn.send(Noop())  # a dead channel still takes commands (15)
    assert events(conn, b"200 result=0\n", one_by_one=False) == [Reply(200, "0")]


def test_hangup_while_awaiting_keeps_awaiting() -> None:
    conn = idle()
    conn.send(GetData("callbot-e2e/menu", 3000, 4))
    assert events(conn, b"HANGUP\n", one_by_one=False) == [HangupNotice()]
    assert conn.dead and conn.state is State.AWAITING
    with pytest.raises(LocalProtocolError):
        conn.send(Noop())
    assert events(conn, b"200 result=-1\n", one_by_one=False) == [Reply(200, "-1")]
    assert conn.state is State.IDLE


def test_agiexitonhangup_twice_then_eof() -> None:
    """22: HANGUP, HANGUP, then Asterisk closes the socket."""
    conn = idle()
    conn.receive_data(b"HANGUP\nHANGUP\n")
    conn.receive_data(b"")
    assert [conn.next_event() for _ in range(4)] == [
        HangupNotice(),
        HangupNotice(),
        Closed(),
        Closed(),
    ]


def test_511_marks_the_channel_dead() -> None:
    """21 (AGISIGHUP=no): no notice ever comes, the first 511 says it."""
    conn = idle()
    conn.send(Raw("CHANNEL STATUS"))
    conn.receive_data(b"511 Command Not Permitted on a dead channel or intercept routine\n")
    assert conn.next_event().code == 511
    assert conn.dead


def test_a_lowercase_hangup_is_not_a_notice() -> None:
    conn = idle()
    conn.receive_data(b"hangup\n")
    with pytest.raises(RemoteProtocolError):
        conn.next_event()


# -- state machine ------------------------------------------------------------------------


def test_send_before_the_environment_is_refused() -> None:
    conn = Connection()
    with pytest.raises(LocalProtocolError, match="reading environment"):
        conn.send(Noop())
    conn.receive_data(b"agi_network: yes\n")
    assert conn.next_event() is NEED_DATA
    with pytest.raises(LocalProtocolError):
        conn.send(Noop())


def test_one_command_in_flight() -> None:
    """33: a second command would interrupt the first, which then never answers."""
    conn = idle()
    assert conn.send(StreamFile("callbot-e2e/long")) == b'STREAM FILE "callbot-e2e/long" ""\n'
    with pytest.raises(LocalProtocolError, match="still awaiting its reply"):
        conn.send(Noop())
    assert conn.pending == StreamFile("callbot-e2e/long")
    conn.receive_data(b"200 result=0 endpos=80000\n")
    assert conn.next_event() == Reply(200, "0", endpos=80000)
    assert conn.pending is None
    assert conn.send(Noop()) == b"NOOP\n"


def test_a_refused_command_leaves_the_state_alone() -> None:
    conn = idle()
    with pytest.raises(LocalProtocolError):
        conn.send(Raw("NOOP\r"))
    assert conn.state is State.IDLE and conn.pending is None
    conn.send(Noop())


def test_send_after_close_is_refused() -> None:
    conn = idle()
    conn.close()
    with pytest.raises(LocalProtocolError, match="closed"):
        conn.send(Noop())
    assert conn.next_event() == Closed()


def test_a_reply_while_idle_is_a_remote_error() -> None:
    conn = idle()
    conn.receive_data(b"200 result=0\n")
    with pytest.raises(RemoteProtocolError, match="no command is pending"):
        conn.next_event()


def test_data_after_eof_is_a_remote_error() -> None:
    conn = idle()
    conn.receive_data(b"")
    conn.receive_data(b"")  # repeated EOF is fine
    with pytest.raises(RemoteProtocolError):
        conn.receive_data(b"200 result=0\n")


# EOF at every point of a session: always Closed, never a spin or an exception
SESSION = [
    (Noop(), b"200 result=0\n"),
    (Raw("GET FULL VARIABLE ${CALLERID(name)}"), b"200 result=1 (Line1\nagi_injected: yes)\n"),
    (Raw("STREAM FILE"), USAGE_16),
    (StreamFile("callbot-e2e/long"), b"200 result=-1 endpos=12160\nHANGUP\n"),
    (Raw("CHANNEL STATUS"), b"511 Command Not Permitted on a dead channel or intercept routine\n"),
]


def test_eof_at_every_byte_of_a_session_is_closed() -> None:
    stream = ENV + b"".join(reply for _, reply in SESSION)
    for cut in range(len(stream) + 1):
        conn = Connection()
        data = stream[:cut]
        commands = iter(command for command, _ in SESSION)
        conn.receive_data(data)
        conn.receive_data(b"")
        seen: list[object] = []
        for _ in range(100):
            event = conn.next_event()
            seen.append(event)
            if isinstance(event, Closed):
                break
            if conn.state is State.IDLE and not isinstance(event, HangupNotice):
                command = next(commands, None)
                if command is not None:
                    conn.send(command)
        else:
            pytest.fail(f"no Closed after EOF at byte {cut}: {seen[-3:]}")
        assert conn.state is State.CLOSED
        assert conn.pending is None
        assert conn.next_event() == Closed()
