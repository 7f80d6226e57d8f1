"""The memory replay is only worth what it catches: plant one known fault at a time in
the in-memory Asterisk and require the replay to see it in the transcripts named.
Each fault replays every transcript (about 0.1 s each).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_replay_memory import ALL, make_prompt_files, unexpected

from agi_callbot.sim import asterisk, commands, media
from agi_callbot.sim.asterisk import MemoryAsterisk


def _instant_answer(ast: MemoryAsterisk, args: list[str]) -> str:
    ast.answered = True
    return "200 result=0"


#: fault -> (where, what, planted value), and transcripts that must catch it
FAULTS: dict[str, tuple[tuple[Any, str, Any], set[str]]] = {
    "CHANNEL STATUS says up before ANSWER": (
        (MemoryAsterisk, "channel_status", lambda ast, args: "200 result=6"),
        {"31-answer-twice-and-stream-before-answer"},
    ),
    "the first ANSWER takes no time": (
        (MemoryAsterisk, "answer", _instant_answer),
        {"03-stream-file", "04-get-data"},
    ),
    "no HANGUP notice": (
        (MemoryAsterisk, "_flush_notice", lambda ast: None),
        {"18-caller-hangup-during-stream-file", "20-caller-hangup-while-idle"},
    ),
    "an unknown hold-music class is kept": (
        (MemoryAsterisk, "_moh_exists", lambda ast, name: bool(name)),
        {"14-music-on-hold", "41-queue-music-class"},
    ),
    "a digit counts when pressed, not when its tone ends": (
        (asterisk, "DTMF_DURATION", 0.0),
        {"03-stream-file"},
    ),
    "every command allowed on a dead channel": (
        (commands, "_DEAD_OK", frozenset(commands.COMMANDS)),
        {"15-hangup-command", "19-caller-hangup-during-get-data"},
    ),
    "lines read in 8190-byte pieces": ((asterisk, "MAX_READ", 8190), {"17-long-line"}),
    "a new line never interrupts a prompt": (
        (asterisk, "_WATCHING", frozenset()),
        {"33-command-while-busy"},
    ),
    "Content-Type ignored by the media cache": (
        (media, "MEDIA_TYPES", {}),
        {"42-prompt-url-formats"},
    ),
    "no Spanish grammar": (
        (commands, "number_files_es", lambda number, gender="": media.number_files_en(number)),
        {"39-say-spanish"},
    ),
}


@pytest.fixture(scope="module")
def prompt_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_prompt_files(tmp_path_factory.mktemp("abs"))


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_the_replay_catches(fault: str, prompt_files: Path, monkeypatch) -> None:
    (where, what, planted), catchers = FAULTS[fault]
    if isinstance(where, dict):
        monkeypatch.setitem(where, what, planted)
    else:
        monkeypatch.setattr(where, what, planted)
    caught = set()
    for name in sorted(ALL):
        try:
            if unexpected(name, prompt_files):
                caught.add(name)
        except AssertionError:
            caught.add(name)  # the replay itself tripped over it (22's EOF)
    assert catchers <= caught, f"{fault}: not seen in {sorted(catchers - caught)}"
