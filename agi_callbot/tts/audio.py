"""The audio pipeline: whatever an engine or an admin produced → a file Asterisk can play.

sox does the signal work in ONE invocation per output file: mix down to mono, trim
leading/trailing silence, resample with its band-limited ``rate`` effect (an anti-alias
filter, unlike pydub's ``set_frame_rate``, which folds a 6 kHz tone back to 2 kHz at 8 kHz),
normalise the peak level and encode. pydub is used where it is good: decoding uploads of
any container ffmpeg knows (MP3, OGG, M4A…) and joining the chunks of a long prompt.

Formats follow Asterisk's naming (transcripts 36, 40, 42): a ``.wav`` must be 8 kHz mono
(a 16 kHz one is ``.wav16``), raw signed linear is ``.sln`` (8 kHz) / ``.sln16`` (16 kHz).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from agi_callbot.errors import PromptError

#: Bump when the pipeline's output for the same input changes: it is part of every cache key.
PIPELINE_VERSION = "1"

_SLIN = ("-t", "raw", "-e", "signed-integer", "-b", "16", "-L")
_WAV = ("-t", "wav", "-e", "signed-integer", "-b", "16")


@dataclass(frozen=True)
class AudioFormat:
    """One file format Asterisk plays, how sox writes/reads it and how HTTP labels it."""

    ext: str
    rate: int
    sox_type: tuple[str, ...]
    #: What res_http_media_cache understands: it maps a known MIME type to a
    #: format *before* looking at the URL's extension, and ignores application/octet-stream.
    content_type: str
    #: bytes of a file holding no audio at all (the container header).
    header_bytes: int = 0

    def input_args(self) -> tuple[str, ...]:
        """sox arguments to read a file of this format (raw formats carry no header)."""
        return (*self.sox_type, "-r", str(self.rate), "-c", "1")


FORMATS: dict[str, AudioFormat] = {
    f.ext: f
    for f in (
        AudioFormat("sln16", 16000, _SLIN, "application/octet-stream"),
        AudioFormat("sln", 8000, _SLIN, "application/octet-stream"),
        AudioFormat("ulaw", 8000, ("-t", "ul"), "audio/basic"),
        AudioFormat("alaw", 8000, ("-t", "al"), "application/octet-stream"),
        AudioFormat("wav", 8000, _WAV, "audio/wav", header_bytes=44),
        AudioFormat(
            "wav16", 16000, _WAV, "audio/x-wav;codec=pcm;bit=16;rate=16000", header_bytes=44
        ),
    )
}

#: Which existing file to derive another format from: the one with the most information.
QUALITY_ORDER = ("sln16", "wav16", "sln", "wav", "ulaw", "alaw")


@dataclass(frozen=True)
class SourceAudio:
    """Audio as an engine or an upload delivers it, before the pipeline."""

    data: bytes
    #: sox arguments describing ``data`` (``-t wav``, ``-t mp3``, raw with rate…)
    sox_args: tuple[str, ...]


@dataclass(frozen=True)
class Treatment:
    """What the pipeline does besides conversion; derived formats and silence skip it."""

    trim: bool = True
    normalize: bool = True
    #: peak level after normalisation, dBFS: a little headroom for the codecs.
    level_db: float = -2.0
    #: below this level (dBFS) a stretch at either end counts as silence.
    silence_db: float = -50.0


FULL = Treatment()
CONVERT_ONLY = Treatment(trim=False, normalize=False)


class ProcessFailed(PromptError):
    """An external program (engine, sox) failed, timed out or is not installed."""


#: Programs run in threads of their own pool, not through asyncio's subprocess API: a
#: task cancelled while asyncio creates a process can hang forever on Python 3.11
#: (CPython gh-103847), and a caller hanging up must never wedge the render for others.
_PROCESSES = ThreadPoolExecutor(
    max_workers=2 * (os.cpu_count() or 1), thread_name_prefix="callbot-audio"
)


async def run_process(args: Sequence[str], stdin: bytes | None, timeout: float) -> bytes:
    """Run a program, feed it ``stdin``, return its stdout; kill it at the deadline.

    Every external program goes through here so none can hang a call: a timeout kills
    the whole process group, and a missing binary is one clear error. The pool also
    bounds how many renders run at once on a small machine.
    """
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_PROCESSES, _run, list(args), stdin, timeout)


def _run(args: list[str], stdin: bytes | None, timeout: float) -> bytes:
    try:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise ProcessFailed(f"{args[0]} is not installed (not found on PATH)") from exc
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise ProcessFailed(f"{args[0]} did not finish within {timeout:g} s") from exc
    if proc.returncode != 0:
        detail = err.decode("utf-8", "replace").strip().splitlines()
        reason = detail[-1] if detail else f"exit status {proc.returncode}"
        raise ProcessFailed(f"{args[0]} failed: {reason}")
    return out


def sox_command(
    input_args: Sequence[str], source: str, out: Path, fmt: AudioFormat, treatment: Treatment
) -> list[str]:
    """One sox command line: ``source`` (a path or ``-``) → ``out`` in ``fmt``."""
    effects: list[str] = ["remix", "-"]
    if treatment.trim:
        quiet = f"{treatment.silence_db:g}d"
        trim = ["silence", "1", "0.01", quiet]
        effects += [*trim, "reverse", *trim, "reverse"]
    effects += ["rate", "-v", str(fmt.rate)]
    if treatment.normalize:
        effects += ["gain", "-n", f"{treatment.level_db:g}"]
    output = [*fmt.sox_type, "-r", str(fmt.rate), "-c", "1", str(out)]
    return ["sox", "-V1", *input_args, source, *output, *effects]


async def convert(
    source: SourceAudio | Path,
    out: Path,
    fmt: AudioFormat,
    *,
    treatment: Treatment = FULL,
    timeout: float = 20.0,
    source_format: AudioFormat | None = None,
) -> None:
    """Write ``source`` to ``out`` in ``fmt``; refuse a result with no audio in it.

    A file that only holds a header (the engine spoke silence, a recording was blank)
    would play as nothing at all: an error here sends the caller to the next engine.
    """
    if isinstance(source, Path):
        args = source_format.input_args() if source_format else ()
        command = sox_command(args, str(source), out, fmt, treatment)
        await run_process(command, None, timeout)
    else:
        command = sox_command(source.sox_args, "-", out, fmt, treatment)
        await run_process(command, source.data, timeout)
    size = out.stat().st_size
    if size <= fmt.header_bytes:
        raise PromptError("no audio left after the pipeline (silence only?)")


def load_upload(path: Path) -> SourceAudio:
    """Decode an admin's file of any format (pydub + ffmpeg) into WAV for the pipeline.

    Raw Asterisk formats (``.sln``, ``.ulaw``…) have no header for ffmpeg to detect, so
    they go to sox as-is with their known rate. Errors name the file: it is the admin's
    to fix, and a message without the name is useless in a folder of a hundred prompts.
    """
    from pydub import AudioSegment

    ext = path.suffix.lstrip(".").lower()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PromptError(f"{path}: cannot read: {exc.strerror}") from exc
    if not data:
        raise PromptError(f"{path}: the file is empty")
    if ext in FORMATS and not FORMATS[ext].header_bytes:
        return SourceAudio(data, FORMATS[ext].input_args())
    try:
        segment = AudioSegment.from_file(io.BytesIO(data), format=ext or None)
    except Exception as exc:  # pydub raises bare Exception subclasses and ffmpeg's errors
        reason = str(exc).strip().splitlines()
        hint = next((line for line in reversed(reason) if line.strip()), type(exc).__name__)
        raise PromptError(f"{path}: not a readable audio file ({hint[:200]})") from exc
    if len(segment) == 0:
        raise PromptError(f"{path}: the file holds no audio")
    return SourceAudio(segment_to_wav(segment), ("-t", "wav"))


def segment_to_wav(segment: object) -> bytes:
    """pydub writes WAV itself (no ffmpeg) when asked for plain ``wav``."""
    buffer = io.BytesIO()
    segment.export(buffer, format="wav")  # type: ignore[attr-defined]
    return buffer.getvalue()


def concatenate(parts: Sequence[SourceAudio], gap_ms: int = 250) -> SourceAudio:
    """Join the chunks of a long prompt with a short pause, as a reader would."""
    from pydub import AudioSegment

    joined = AudioSegment.empty()
    for index, part in enumerate(parts):
        kind = _container(part.sox_args)
        segment = AudioSegment.from_file(io.BytesIO(part.data), format=kind)
        if index:
            joined += AudioSegment.silent(duration=gap_ms, frame_rate=segment.frame_rate)
        joined += segment
    return SourceAudio(segment_to_wav(joined), ("-t", "wav"))


def _container(sox_args: Sequence[str]) -> str:
    args = list(sox_args)
    if "-t" not in args or args[args.index("-t") + 1] not in ("wav", "mp3"):
        raise PromptError(f"cannot join audio given as {' '.join(args)}")
    return args[args.index("-t") + 1]


def silence_wav(duration_ms: int = 200, rate: int = 16000) -> SourceAudio:
    """A short silent prompt: what an empty text plays (a flow is not failed for it)."""
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\0\0" * (rate * duration_ms // 1000))
    return SourceAudio(buffer.getvalue(), ("-t", "wav"))
