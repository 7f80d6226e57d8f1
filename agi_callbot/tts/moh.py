"""Hold music per team: uploads → an Asterisk music-on-hold class folder + its conf section.

A team is an Asterisk queue of the same name and its hold music the MOH class of that
name (transcript 41). ``mode = files`` plays every file of the folder;
Asterisk picks, per file, the format needing no transcoding, so each upload is written
in every cached prompt format, through the same pipeline as prompts (mono, resampled
with an anti-alias filter, peak-normalised; leading/trailing silence trimmed, so the
loop has no gap). Every upload is decoded before anything is written: one corrupt file
fails the command, named, with the class folder untouched.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agi_callbot.errors import CallbotError, PromptError
from agi_callbot.tts.audio import FORMATS, SourceAudio, Treatment, convert, load_upload

_TEAM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
#: music is louder in the mix than speech would be: a little more headroom.
MUSIC = Treatment(level_db=-3.0)


class MohError(CallbotError):
    """The hold music could not be added (bad team name, unreadable upload)."""


@dataclass(frozen=True)
class MohResult:
    team: str
    folder: Path
    files: tuple[Path, ...]
    section: str


def check_team(team: str) -> str:
    if not _TEAM.fullmatch(team):
        raise MohError(f"team {team!r}: use letters, digits, '_' and '-' (the queue's name)")
    return team


def track_name(path: Path) -> str:
    """A file name Asterisk and shells are happy with: ``Summer Song.mp3`` → ``summer_song``."""
    stem = re.sub(r"[^a-z0-9_-]+", "_", path.stem.lower()).strip("_-")
    return stem or "track"


async def add_music(
    team: str,
    files: Sequence[Path],
    moh_dir: Path,
    formats: Sequence[str],
    *,
    directory: str | None = None,
    timeout: float = 120.0,
    max_seconds: float | None = None,
) -> MohResult:
    """Convert ``files`` into ``<moh_dir>/<team>/``; return the musiconhold.conf section.

    ``max_seconds`` refuses (before anything is written) a file that plays longer.
    """
    check_team(team)
    if not files:
        raise MohError("no files given")
    try:
        sources = [(path, load_upload(path)) for path in files]
    except PromptError as exc:
        raise MohError(str(exc)) from exc
    if max_seconds is not None:
        for path, source in sources:
            length = seconds(source)
            if length > max_seconds:
                raise MohError(
                    f"{path.name}: {length / 60:.1f} minutes of audio; "
                    f"hold music may last at most {max_seconds / 60:g} minutes"
                )
    folder = moh_dir / team
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for path, source in sources:
        name = track_name(path)
        for ext in formats:
            target = folder / f"{name}.{ext}"
            await _write(source, target, ext, timeout)
            written.append(target)
    section = conf_section(team, directory or str(folder.resolve()))
    return MohResult(team, folder, tuple(written), section)


async def _write(source: SourceAudio, target: Path, ext: str, timeout: float) -> None:
    temp = target.with_name(f".tmp-{target.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        await convert(source, temp, FORMATS[ext], treatment=MUSIC, timeout=timeout)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


def seconds(source: SourceAudio) -> float:
    """How long a decoded upload plays (WAV from pydub, or a raw Asterisk format)."""
    if source.sox_args[:2] == ("-t", "wav"):
        with wave.open(io.BytesIO(source.data)) as wav:
            return wav.getnframes() / float(wav.getframerate() or 1)
    rate = (
        int(source.sox_args[source.sox_args.index("-r") + 1]) if "-r" in source.sox_args else 8000
    )
    width = 2 if "-b" in source.sox_args else 1  # signed linear is 16-bit; ulaw/alaw 8-bit
    return len(source.data) / float(rate * width)


def conf_section(team: str, directory: str) -> str:
    """The musiconhold.conf class for a team: every file of its folder, in name order."""
    return f"[{team}]\nmode = files\ndirectory = {directory}\nsort = alpha\n"


def update_conf(conf: Path, team: str, section: str) -> None:
    """Replace the team's ``[section]`` in musiconhold.conf (or append it), atomically."""
    try:
        lines = conf.read_text(encoding="utf-8").splitlines(keepends=True)
    except FileNotFoundError:
        lines = []
    header = re.compile(r"\s*\[([^\]]+)\]")
    start = end = None
    for index, line in enumerate(lines):
        match = header.match(line)
        if match and start is not None and end is None:
            end = index
        if match and match.group(1).strip() == team:
            start = index
    if start is None:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines += (["\n"] if lines else []) + [section]
    else:
        stop = end if end is not None else len(lines)
        tail = ["\n"] if stop < len(lines) else []
        lines[start:stop] = [section, *tail]
    temp = conf.with_name(f".{conf.name}.{secrets.token_hex(4)}")
    temp.write_text("".join(lines), encoding="utf-8")
    os.replace(temp, conf)
