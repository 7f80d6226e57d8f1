"""The in-memory Asterisk driven through a real Channel: caller scripts, hangups at
every command, byte-at-a-time reads, queue and dial outcomes.

Its faithfulness to a real Asterisk is checked by test_replay_memory.py; these tests
pin the parts flows and ``simulate`` rely on.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agi_callbot.agi.commands import Raw
from agi_callbot.agi.connection import NEED_DATA, Connection, HangupNotice
from agi_callbot.agi.replies import Reply
from agi_callbot.channel import Channel
from agi_callbot.errors import CommandError, DeadChannel, Hangup
from agi_callbot.sim.asterisk import MemoryAsterisk
from agi_callbot.sim.caller import DTMF_DURATION, REACTION, Caller, parse_script
from agi_callbot.sim.setup import DIAL_OUTCOMES, QUEUE_OUTCOMES, AsteriskSetup, QueueSetup

SOUNDS = {"menu": 3.0, "welcome": 2.0, "bye": 0.5}


def asterisk(caller: str = "", **options) -> MemoryAsterisk:
    return MemoryAsterisk(AsteriskSetup("demo", caller=caller, sounds=SOUNDS, **options))


# -- caller scripts ------------------------------------------------------------------


async def test_a_digit_is_pressed_where_the_channel_listens() -> None:
    ast = asterisk("1")

    async def call(channel: Channel) -> object:
        await channel.answer()
        return await channel.stream_file("menu", "12")

    playback = await ast.run(call)
    assert playback.digit == "1" and playback.ok
    # pressed REACTION after the prompt started, effective when its tone ends
    assert playback.endpos == round((REACTION + DTMF_DURATION) * 8000)
    assert ast.caller.pending == []


async def test_a_prompt_without_escape_digits_does_not_take_the_digit() -> None:
    ast = asterisk("7")

    async def call(channel: Channel) -> tuple[object, object]:
        played = await channel.stream_file("welcome")
        return played, await channel.get_data("menu", 3000, 1)

    played, typed = await ast.run(call)
    assert played.digit is None and played.endpos == 16000
    assert typed.digits == "7" and not typed.timed_out


async def test_script_1_wait_6_2_hangup() -> None:
    """The README's example: 1, then silence long enough for a timeout, 2, then gone."""
    ast = asterisk("1,wait:6,2,hangup")
    seen: list[object] = []

    async def call(channel: Channel) -> None:
        await channel.answer()
        seen.append(await channel.get_data("menu", 2000, 1))
        seen.append(await channel.get_data("menu", 2000, 1))  # 6 s of silence: 3 + 2 s pass
        seen.append(await channel.get_data("menu", 2000, 1))  # 2 pressed 1.3 s into it
        try:
            await channel.stream_file("bye", "#")
        except Hangup:
            seen.append("hangup")
            await channel.set_variable("CALLBOT_STATUS", "HANGUP")

    await ast.run(call)
    assert [getattr(s, "digits", s) for s in seen] == ["1", "", "2", "hangup"]
    assert seen[1].timed_out
    assert ast.hangup_by == "caller" and ast.hung_up
    assert ast.variables["CALLBOT_STATUS"] == "HANGUP"
    assert ast.caller.pending == []


async def test_wait_elapses_while_the_channel_listens() -> None:
    ast = asterisk("wait:2.5,5")

    async def call(channel: Channel) -> str | None:
        return await channel.wait_for_digit(10000)

    assert await ast.run(call) == "5"
    assert ast.now == pytest.approx(2.5 + REACTION + DTMF_DURATION)


async def test_unused_tokens_are_reported() -> None:
    ast = asterisk("1,2,3")

    async def call(channel: Channel) -> None:
        await channel.wait_for_digit(1000)

    await ast.run(call)
    assert ast.caller.pending == ["2", "3"]


@pytest.mark.parametrize("script", ["x", "12a", "4321#x", "wait:", "wait:abc", "hang", "1,,?"])
def test_bad_scripts_name_the_token(script: str) -> None:
    with pytest.raises(ValueError, match="bad caller action"):
        parse_script(script)
    with pytest.raises(ValueError):
        Caller(script)


def test_script_tokens_may_be_separated_by_blanks() -> None:
    assert parse_script("1 2, wait:1.5 ,hangup") == ["1", "2", "wait:1.5", "hangup"]


def test_digits_typed_together_are_one_key_after_another() -> None:
    assert parse_script("wait:2,4321#,hangup") == ["wait:2", "4", "3", "2", "1", "#", "hangup"]
    assert parse_script("*9A") == ["*", "9", "A"]


# -- a hangup at every command ---------------------------------------------------------

LIVE = {"answer", "stream_file", "get_data", "wait_for_digit", "channel_status"}


async def steps(channel: Channel, done: list[str]) -> None:
    for name, run in [
        ("answer", channel.answer),
        ("set_variable", lambda: channel.set_variable("CALLBOT_STEP", "1")),
        ("stream_file", lambda: channel.stream_file("welcome", "1")),
        ("noop", channel.noop),
        ("get_data", lambda: channel.get_data("menu", 3000, 4)),
        ("verbose", lambda: channel.verbose("half way")),
        ("wait_for_digit", lambda: channel.wait_for_digit(1000)),
        ("get_variable", lambda: channel.get_variable("CALLBOT_STEP")),
        ("channel_status", channel.channel_status),
    ]:
        done.append(name)
        await run()


@pytest.mark.parametrize("at", range(1, 10))
async def test_hangup_at_every_command(at: int) -> None:
    ast = asterisk(hangup_at_command=at)
    done: list[str] = []

    async def call(channel: Channel) -> type[Exception]:
        try:
            await steps(channel, done)
        except Hangup as gone:
            # post-call work still reaches the dialplan (15)
            await channel.set_variable("CALLBOT_STATUS", "HANGUP")
            await channel.verbose("caller gone")
            assert await channel.get_variable("CALLBOT_STATUS") == "HANGUP"
            return type(gone)
        return type(None)

    raised = await ast.run(call)
    assert ast.hung_up and ast.hangup_by == "caller"
    assert ast.variables["CALLBOT_STATUS"] == "HANGUP"
    # the Hangup surfaces at the first step needing the caller, from command ``at`` on
    assert done[-1] in LIVE and len(done) >= at
    assert all(step not in LIVE for step in done[at - 1 : -1])
    # 511 to a command sent on the dead channel, or the notice seen before sending
    assert raised in (Hangup, DeadChannel)


# -- one byte per read ---------------------------------------------------------------


async def session(channel: Channel) -> list[object]:
    out: list[object] = [channel.env.calleridname]
    await channel.answer()
    out.append(await channel.get_full_variable("${CALLERID(name)}"))
    out.append(await channel.stream_file("welcome", "12"))
    out.append(await channel.get_data("menu", 2000, 3))
    await channel.set_variable("CALLBOT_Q", 'say "hi" (twice)')
    out.append(await channel.get_variable("CALLBOT_Q"))
    out.append(await channel.exec("Playback", "nothere"))
    out.append(await channel.get_variable("PLAYBACKSTATUS"))
    try:
        await channel.send(Raw("SAY DIGITS"))
    except CommandError as refused:
        out.append((refused.code, refused.usage))
    out.append(await channel.stream_file("nothere"))
    out.append(await channel.channel_status())
    return out


@pytest.mark.parametrize("read_size", [1, 2, 7, 65536])
async def test_reads_of_any_size_give_the_same_call(read_size: int) -> None:
    def make(size: int) -> MemoryAsterisk:
        return MemoryAsterisk(
            AsteriskSetup(
                "demo",
                calleridname="Line1\nagi_injected: yes",  # 27: a two-line reply
                caller="2,4,#",
                sounds=SOUNDS,
                missing_sounds={"nothere"},
                read_size=size,
            )
        )

    small, whole = make(read_size), make(65536)
    got, want = await small.run(session), await whole.run(session)
    assert got == want
    assert got[1] == "Line1\nagi_injected: yes"
    assert got[3].digits == "4" and got[4] == 'say "hi" (twice)'
    assert got[5] == 0 and got[6] == "FAILED"
    assert got[7][0] == 520 and got[8].ok is False and got[9] == 6
    assert small.commands == whole.commands


# -- applications ----------------------------------------------------------------------


@pytest.mark.parametrize("outcome", QUEUE_OUTCOMES)
async def test_queue_outcomes(outcome: str) -> None:
    ast = asterisk(queues={"ventas": outcome}, talk_seconds=2.0)

    async def call(channel: Channel) -> tuple[int | str, str | None]:
        await channel.answer()
        try:
            result: int | str = await channel.exec("Queue", "ventas", "c", "", "", "30")
        except Hangup:
            result = "hangup"
        return result, await channel.get_variable("QUEUESTATUS")

    result, status = await ast.run(call)
    expected = {
        "answer": (0, "CONTINUE"),  # ``c``: the caller continues after the agent (10)
        "continue": (0, "CONTINUE"),
        "timeout": (0, "TIMEOUT"),
        "full": (0, "FULL"),
        "joinempty": (0, "JOINEMPTY"),
        "leaveempty": (0, "LEAVEEMPTY"),
        "hangup": ("hangup", None),  # the caller gives up while queued (12)
    }
    assert (result, status) == expected[outcome]
    assert ast.moh == ([] if outcome in ("full", "joinempty") else ["default"])


@pytest.mark.parametrize(
    ("setup", "took", "starts"),
    [
        (QueueSetup(), 5.0, 1),  # alone at the head: no announcement at all
        (QueueSetup(announce_position=True, periodic=True), 5.0, 1),
        (QueueSetup(waiting=1, announce_position=True), 7.06, 2),  # outlasts the 5 s
        (QueueSetup(announce_position=True, announce_to_first_user=True, periodic=True), 14.78, 3),
    ],
)
async def test_queue_announcements_outlast_the_timeout(
    setup: QueueSetup, took: float, starts: int
) -> None:
    """38: the timeout is only checked between announcements."""
    ast = asterisk(queues={"q": setup})

    async def call(channel: Channel) -> float:
        await channel.answer()
        before = ast.now
        assert await channel.exec("Queue", "q", "", "", "", "5") == 0
        return ast.now - before

    assert await ast.run(call) == pytest.approx(took)
    assert ast.variables["QUEUESTATUS"] == "TIMEOUT"
    assert ast.moh == ["default"] * starts


async def test_queue_without_c_answers_minus_one_but_the_call_goes_on() -> None:
    """09: the agent hung up; Queue answers -1, the session (and the caller) stay."""
    ast = asterisk(queues={"sales": "answer"})

    async def call(channel: Channel) -> int:
        await channel.answer()
        result = await channel.exec("Queue", "sales")
        await channel.noop()
        return result

    assert await ast.run(call) == -1
    assert not ast.hung_up and "QUEUESTATUS" not in ast.variables
    assert ast.variables["MEMBERNAME"] == "sales-agent"


@pytest.mark.parametrize("outcome", DIAL_OUTCOMES)
async def test_dial_outcomes(outcome: str) -> None:
    ast = asterisk(dial={"PJSIP/1001": outcome}, talk_seconds=1.0)

    async def call(channel: Channel) -> tuple[int, str | None]:
        await channel.answer()
        result = await channel.exec("Dial", "PJSIP/1001", "20", "g")
        return result, await channel.get_variable("DIALSTATUS")

    result, status = await ast.run(call)
    assert result == 0
    assert status == ("ANSWER" if outcome == "HANGUP" else outcome)


async def test_hold_music_classes_follow_41() -> None:
    ast = asterisk(moh_classes={"default", "alt", "ventas"}, queue_music={"ventas": "ventas"})

    async def call(channel: Channel) -> None:
        await channel.answer()
        await channel.set_music(True, "no-such-class")  # 14: plays default
        await channel.exec("Queue", "ventas", "", "", "", "1")  # the queue's class
        await channel.exec("Queue", "ventas", "m(no-such-class)", "", "", "1")  # default
        await channel.exec("Queue", "ventas", "r", "", "", "1")  # ringing, no music
        await channel.set_variable("CHANNEL(musicclass)", "alt")
        await channel.exec("Queue", "ventas", "m(ventas)", "", "", "1")  # channel wins

    await ast.run(call)
    assert ast.moh == ["default", "ventas", "default", "alt"]
    assert ast.moh_playing is None


async def test_a_missing_prompt_is_not_a_hangup() -> None:
    ast = asterisk(missing_sounds={"custom/nothere"})

    async def call(channel: Channel) -> object:
        await channel.answer()
        return await channel.stream_file("custom/nothere")

    playback = await ast.run(call)
    assert not playback.ok and playback.endpos == 0
    assert not ast.hung_up
    assert ast.commands[-1] == "CHANNEL STATUS"  # the probe that told -1 apart (03 vs 18)


# -- whatever the server writes, the answer is AGI -------------------------------------

WORDS = st.sampled_from(
    ["STREAM", "FILE", "GET", "DATA", "OPTION", "SET", "VARIABLE", "FULL", "EXEC", "Queue",
     "Dial", "Wait", "Playback", "Goto", "SAY", "DIGITS", "NUMBER", "ALPHA", "WAIT", "FOR",
     "DIGIT", "CHANNEL", "STATUS", "HANGUP", "ANSWER", "NOOP", "MUSIC", "ON", "OFF",
     "CONTROL", "DATABASE", "PUT", "DEL", "VERBOSE", "welcome", "12#", '""', "-1", "0",
     "3000", "${CALLERID(name)}", "sales,c", "x\\ y", '"a b"', "\r"]
)  # fmt: skip


@given(
    lines=st.lists(st.lists(WORDS, min_size=0, max_size=6).map(" ".join), max_size=12),
    script=st.lists(st.sampled_from(["1", "#", "wait:2", "hangup"]), max_size=4),
)
@settings(max_examples=150, deadline=None)
def test_every_line_gets_one_parsable_reply(lines: list[str], script: list[str]) -> None:
    """Arbitrary command lines, one at a time: exactly one reply each (plus notices),
    all of which the sans-IO core parses, until AGIEXITONHANGUP's EOF."""
    ast = MemoryAsterisk(AsteriskSetup("fuzz", caller=",".join(script), sounds=SOUNDS))
    conn = Connection()
    conn.receive_data(ast.env_block())
    assert conn.next_event() == ast.environment
    for line in lines:
        conn.send(Raw(line) if line.strip() and "\r" not in line else Raw("NOOP"))
        ast.receive((line if line.strip() else "NOOP").encode() + b"\n")
        conn.receive_data(ast.take_output())
        events = []
        while (event := conn.next_event()) is not NEED_DATA:
            events.append(event)
        replies = [e for e in events if isinstance(e, Reply)]
        assert len(replies) == 1, (line, events)
        assert all(isinstance(e, Reply | HangupNotice) for e in events)
        assert replies[0].code in (200, 510, 511, 520)
    assert ast.commands == [line if line.strip() else "NOOP" for line in lines]


@given(data=st.data())
@settings(max_examples=60, deadline=None)
def test_lines_split_anywhere_are_read_the_same(data: st.DataObject) -> None:
    """Asterisk reads lines, not writes: 16's lines and 17's 20 KB one (read as three
    8191-byte pieces) give the same commands and replies however they arrive."""
    lines = [
        b"NOOP first",
        b'SET VARIABLE CALLBOT_CR "v"\r',
        b"GET VARIABLE CALLBOT_CR",
        b"",
        b'SET VARIABLE CALLBOT_LONG2 "' + b"b" * 20000 + b'"',
        b"GET FULL VARIABLE ${LEN(${CALLBOT_LONG2})}",
        b"  NOOP leading blanks",
    ]
    stream = b"".join(line + b"\n" for line in lines)
    cuts = sorted(data.draw(st.sets(st.integers(1, len(stream) - 1), max_size=30)))
    whole, split = MemoryAsterisk(AsteriskSetup("x")), MemoryAsterisk(AsteriskSetup("x"))
    whole.receive(stream)
    for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        split.receive(stream[a:b])
    assert split.commands == whole.commands
    assert (
        split.take_output()
        == whole.take_output()
        == (
            b"200 result=0\n200 result=1\n200 result=1 (v\r)\n510 Invalid or unknown command\n"
            b"200 result=1\n510 Invalid or unknown command\n510 Invalid or unknown command\n"
            b"200 result=1 (8163)\n200 result=0\n"
        )
    )


@pytest.mark.parametrize(
    ("hangup_at", "steps", "status"),
    [
        (None, ["stream_file welcome"], "SUCCESS"),
        (None, ["stream_file nothere"], "FAILURE"),  # 03: though the call went on
        (None, ["get_data nothere"], "SUCCESS"),  # 04: GET DATA does not count
        (None, ["exec Playback nothere"], "SUCCESS"),  # 08: nor does Playback
        (1, ["stream_file welcome"], "HANGUP"),  # 18
        (3, ["stream_file nothere", "stream_file welcome"], "FAILURE"),  # 37 (2: the probe)
        (None, ["hangup"], "HANGUP"),  # 15
    ],
)
async def test_agistatus_left_for_the_dialplan(
    hangup_at: int | None, steps: list[str], status: str
) -> None:
    ast = asterisk(hangup_at_command=hangup_at, missing_sounds={"nothere"})

    async def call(channel: Channel) -> None:
        for step in steps:
            verb, *args = step.split()
            try:
                if verb == "exec":
                    await channel.exec(*args)
                elif verb == "get_data":
                    await channel.get_data(args[0], 1000, 1)
                else:
                    await getattr(channel, verb)(*args)
            except Hangup:
                return

    await ast.run(call)
    assert ast.hung_up == (status == "HANGUP" or hangup_at is not None)
    assert ast.agistatus == status


@pytest.mark.parametrize(
    "options",
    [
        {"queues": {"ventas": "answered"}},
        {"queues": {"ventas": QueueSetup("busy")}},
        {"dial": {"PJSIP/1001": "busy"}},  # outcomes are DIALSTATUS values, upper case
    ],
)
def test_unknown_outcomes_are_refused_by_name(options: dict) -> None:
    with pytest.raises(ValueError, match="unknown outcome"):
        MemoryAsterisk(AsteriskSetup("demo", **options))


def test_agiexitonhangup_answers_nothing_after_its_eof() -> None:
    """22: HANGUP twice, then the socket closes; a line written after that gets nothing."""
    ast = MemoryAsterisk(AsteriskSetup("x", caller="hangup", exit_on_hangup=True))
    ast.receive(b"ANSWER\n")  # the caller hung up before this line was read
    assert ast.take_output() == b"HANGUP\nHANGUP\n"
    assert ast.eof
    ast.receive(b"NOOP\n")
    assert ast.take_output() == b""
    assert ast.commands == ["ANSWER", "NOOP"]


async def test_agiexitonhangup_ends_the_channel_with_hangup() -> None:
    ast = MemoryAsterisk(
        AsteriskSetup("x", caller="wait:1,hangup", exit_on_hangup=True, sounds=SOUNDS)
    )

    async def call(channel: Channel) -> str:
        await channel.answer()
        try:
            await channel.stream_file("welcome", "1")
        except Hangup:
            return "hangup"
        return "played"

    assert await ast.run(call) == "hangup"
    assert ast.hangup_by == "caller" and ast.eof


@pytest.mark.parametrize(
    ("language", "number", "gender", "files"),
    [
        ("en", 42, "", ["digits/40", "digits/2"]),
        ("en", 1234, "", ["digits/1", "digits/thousand", "digits/2", "digits/hundred",
                          "digits/30", "digits/4"]),
        ("en", -5, "", ["digits/minus", "digits/5"]),
        ("es", 1234, "", ["digits/thousand", "digits/200", "digits/30", "digits/and",
                          "digits/4"]),
        ("es", 1, "f", ["digits/1F"]),
        ("es", 21, "f", ["digits/21"]),
        ("es", 115, "", ["digits/100-and", "digits/15"]),
        ("es", 2000000, "", ["digits/2", "digits/millions"]),
        ("es_MX", 15, "", ["digits/15"]),
        ("xx", 15, "", ["digits/15"]),
    ],
)  # fmt: skip
async def test_say_number_plays_the_stock_prompts_of_39(
    language: str, number: int, gender: str, files: list[str]
) -> None:
    ast = MemoryAsterisk(AsteriskSetup("x", language=language))

    async def call(channel: Channel) -> str | None:
        return await channel.say_number(number, gender=gender)

    assert await ast.run(call) is None
    assert ast.played == files


async def test_a_prompt_missing_in_every_language_is_skipped() -> None:
    """39: the es pack has no digits/100: SAY NUMBER 100 plays nothing and answers 0."""
    ast = MemoryAsterisk(
        AsteriskSetup(
            "x", language="es", missing_sounds={"digits/100"}, prompt_languages={"en", "es"}
        )
    )

    async def call(channel: Channel) -> str | None:
        return await channel.say_number(100)

    assert await ast.run(call) is None
    assert ast.played == [] and ast.now == 0.0
