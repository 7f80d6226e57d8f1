"""However the bytes are split, the core sees the same events (h11's rule).

The corpus is every recorded Asterisk stream in tests/transcripts whose commands
were sent one at a time (16, 17 and 33 break that rule on purpose: the replay test
covers them). Hypothesis picks the split points.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agi_callbot.agi.commands import Raw
from agi_callbot.agi.connection import NEED_DATA, Closed, Connection, State
from agi_callbot.errors import RemoteProtocolError
from agi_callbot.sim.transcript import Transcript, load_all

TRANSCRIPTS = Path(__file__).resolve().parents[1] / "transcripts"
IRREGULAR = {"16-errors", "17-long-line", "33-command-while-busy"}


def sequential(transcript: Transcript) -> tuple[bytes, list[str]] | None:
    """All bytes Asterisk sent, and the server's commands; None without any exchange."""
    stream = bytearray()
    commands: list[str] = []
    for entry in transcript.entries:
        if entry.kind == "asterisk":
            stream += entry.data + b"\n"
        elif entry.kind == "server":
            commands.append(entry.data.decode("utf-8"))
    return (bytes(stream), commands) if stream else None


CORPUS = {
    t.name: session
    for t in load_all(TRANSCRIPTS)
    if t.name not in IRREGULAR and (session := sequential(t)) is not None
}


def run(chunks: list[bytes], commands: list[str]) -> list[object]:
    """Feed ``chunks`` then EOF; send the next command whenever the connection is idle."""
    conn = Connection()
    pending = iter(commands)
    seen: list[object] = []
    for chunk in [*chunks, b""]:
        conn.receive_data(chunk)
        while (event := conn.next_event()) is not NEED_DATA:
            seen.append(event)
            if isinstance(event, Closed):
                return seen
            if conn.state is State.IDLE and conn.pending is None:
                line = next(pending, None)
                if line is not None:
                    conn.send(Raw(line))
    return seen


def test_the_corpus_is_every_regular_transcript() -> None:
    assert len(CORPUS) >= 35
    assert "27-callerid-newline" in CORPUS and "22-agiexitonhangup" in CORPUS


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_byte_by_byte_equals_whole(name: str) -> None:
    stream, commands = CORPUS[name]
    whole = run([stream], commands)
    assert isinstance(whole[-1], Closed)
    assert run([stream[i : i + 1] for i in range(len(stream))], commands) == whole


@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_any_split_equals_whole(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(CORPUS)))
    stream, commands = CORPUS[name]
    cuts = sorted(data.draw(st.sets(st.integers(0, len(stream)), max_size=40)))
    bounds = zip([0, *cuts], [*cuts, len(stream)], strict=True)
    chunks = [stream[a:b] for a, b in bounds if b > a]  # b"" would mean EOF
    assert run(chunks, commands) == run([stream], commands)


# any bytes at all: events or one RemoteProtocolError, never another exception or a spin
NOISE = st.lists(
    st.one_of(
        st.binary(max_size=40),
        st.sampled_from(
            [b"\n", b"HANGUP\n", b"200 result=", b"1 (", b")", b" endpos=", b"520-", b"x\n",
             b"520 End of proper usage.\n", b"agi_network: yes\n", b"510 Invalid\n", b"\r"]
        ),
    ),
    max_size=60,
)  # fmt: skip


@given(chunks=NOISE, commands=st.integers(0, 5))
@settings(max_examples=300, deadline=None)
def test_noise_ends_in_events_or_one_remote_error(chunks: list[bytes], commands: int) -> None:
    conn = Connection()
    budget = commands
    try:
        for chunk in [*chunks, b""]:
            conn.receive_data(chunk)
            for _ in range(len(chunk) + 2):  # each event eats at least one line
                event = conn.next_event()
                if event is NEED_DATA or isinstance(event, Closed):
                    break
                if conn.state is State.IDLE and budget:
                    conn.send(Raw("NOOP"))
                    budget -= 1
            else:
                pytest.fail("next_event kept returning events without input")
    except RemoteProtocolError:
        return
    assert conn.next_event() == Closed()
