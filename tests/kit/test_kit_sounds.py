"""The kit's committed sounds, and the generator that makes them (real espeak-ng and sox)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from agi_callbot.cli import sounds
from agi_callbot.kit import moh
from agi_callbot.tts.audio import FORMATS

ROOT = Path(__file__).resolve().parents[2]
SOUNDS = ROOT / "sounds"


def seconds(path: Path) -> float:
    fmt = FORMATS[path.suffix.lstrip(".")]
    bytes_per_sample = 1 if fmt.ext in ("ulaw", "alaw") else 2
    return (path.stat().st_size - fmt.header_bytes) / bytes_per_sample / fmt.rate


def check_tree(root: Path) -> None:
    for language, texts in sounds.PROMPTS.items():
        for prompt_id in texts:
            lengths = []
            for ext in sounds.PROMPT_FORMATS:
                path = root / "callbot" / language / f"{prompt_id}.{ext}"
                assert path.is_file() and not path.is_symlink(), path
                lengths.append(seconds(path))
            assert 0.8 < lengths[0] < 15, (language, prompt_id, lengths)
            # every format holds the same audio: the same length within one frame
            assert max(lengths) - min(lengths) < 0.02, (language, prompt_id, lengths)
    for ext in sounds.MOH_FORMATS:
        music = root / "moh" / "default" / f"{sounds.MOH_NAME}.{ext}"
        assert 30 <= seconds(music) <= 60
        for team in moh.TEAMS:
            link = root / "moh" / team / music.name
            assert link.is_symlink() and link.resolve() == music.resolve()
            # relative, so the link survives a bind mount or a copy of the whole folder
            assert not Path(link.readlink()).is_absolute()


def test_committed_sounds_are_complete():
    check_tree(SOUNDS)


def test_committed_sounds_stay_small():
    files = [p for p in SOUNDS.rglob("*") if p.is_file() and not p.is_symlink()]
    assert sum(p.stat().st_size for p in files) < 3 * 1024 * 1024


def test_only_sounds_the_generator_makes_are_committed():
    expected = {
        f"callbot/{lang}/{pid}.{ext}"
        for lang, texts in sounds.PROMPTS.items()
        for pid in texts
        for ext in sounds.PROMPT_FORMATS
    } | {
        f"moh/{team}/{sounds.MOH_NAME}.{ext}"
        for team in ("default", *moh.TEAMS)
        for ext in sounds.MOH_FORMATS
    }
    found = {
        str(p.relative_to(SOUNDS))
        for p in SOUNDS.rglob("*")
        if (p.is_file() or p.is_symlink()) and p.name != "README.md"
    }
    assert found == expected


def test_music_is_not_silence_and_not_clipped():
    data = (SOUNDS / "moh" / "default" / f"{sounds.MOH_NAME}.sln").read_bytes()
    samples = memoryview(data).cast("h")
    peak = max(abs(s) for s in samples)
    rms = (sum(s * s for s in samples[::7]) / len(samples[::7])) ** 0.5
    assert 0.2 * 32768 < peak < 0.99 * 32768
    assert rms > 0.03 * 32768


@pytest.mark.skipif(
    not shutil.which("sox") or not shutil.which("espeak-ng"), reason="needs sox and espeak-ng"
)
def test_generate_writes_the_same_tree(tmp_path):
    written = asyncio.run(sounds.generate(tmp_path, repeats=2))
    check_tree(tmp_path)
    assert len(written) == 6 * len(sounds.PROMPT_FORMATS) + 5 * len(sounds.MOH_FORMATS)
    again = asyncio.run(sounds.generate(tmp_path, only="moh"))  # links are replaced, not doubled
    assert len(again) == 5 * len(sounds.MOH_FORMATS)
    first = (tmp_path / "moh" / "default" / f"{sounds.MOH_NAME}.ulaw").read_bytes()
    assert first == (tmp_path / "moh" / "ventas" / f"{sounds.MOH_NAME}.ulaw").read_bytes()


def test_generate_refuses_no_repeats(tmp_path):
    with pytest.raises(sounds.SoundsError, match="repeats"):
        asyncio.run(sounds.generate(tmp_path, repeats=0, only="moh"))


def test_cli_generate(tmp_path, capsys):
    from agi_callbot.cli import main

    assert (
        main(
            [
                "sounds",
                "generate",
                "--output",
                str(tmp_path),
                "--only",
                "moh",
                "--repeats",
                "1",
                "--teams",
                "ventas",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "moh/ventas/callbot-hold.ulaw" in out and "4 files" in out
    assert 15 < seconds(tmp_path / "moh" / "default" / "callbot-hold.sln") < 17


def test_the_prompts_are_laid_out_as_recordings_the_prompt_service_finds():
    """With ``tts.recordings_dir: sounds/callbot`` a block named ``goodbye`` plays the file."""
    from agi_callbot.tts.engines import Recordings

    recordings = Recordings(SOUNDS / "callbot")
    for language, texts in sounds.PROMPTS.items():
        for prompt_id in texts:
            found = recordings.find(f"{language}-XX", prompt_id)
            assert found is not None and found.parent.name == language
    assert recordings.find("fr", "goodbye") is None
