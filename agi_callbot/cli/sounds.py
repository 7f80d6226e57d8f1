"""``agi-callbot sounds generate``: the kit's default prompts and royalty-free hold music.

Some audio must exist before any TTS runs: the dialplan plays "technical problem" when
no callbot node answers, and every queue needs hold music. The kit ships both, made
by the project itself so no third-party recording (and no licence question) is in it:

* prompts — espeak-ng through the prompts pipeline (``agi_callbot.tts``), into
  ``sounds/callbot/<lang>/<id>.{sln16,sln,ulaw}``; Asterisk plays them as
  ``callbot/<lang>/<id>`` and picks the format cheapest for the caller's codec;
* hold music — a slow I–vi–IV–V progression (a sine pad, a quiet plucked arpeggio,
  a little reverb) synthesized by sox, into ``sounds/moh/default/`` and linked into
  each team's class folder, so a team plays it until the admin adds its own
  (``agi-callbot moh add <team> FILE``, which writes real files beside the links).

The output is deterministic (sox without dither), so regenerating changes no file
unless espeak-ng or sox changed.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agi_callbot.cli import command
from agi_callbot.config import Tts
from agi_callbot.errors import CallbotError
from agi_callbot.kit.moh import MOH_FORMATS, MOH_NAME, TEAMS, link_team_music
from agi_callbot.tts.audio import (
    FORMATS,
    FULL,
    AudioFormat,
    SourceAudio,
    Treatment,
    run_process,
    sox_command,
)
from agi_callbot.tts.engines import EspeakEngine

#: prompt id → text, per language. The ids are what the dialplan and flows name.
PROMPTS: dict[str, dict[str, str]] = {
    "es": {
        "please-hold": "Por favor, espere un momento.",
        "goodbye": "Gracias por llamar. Adiós.",
        "technical-problem": (
            "Lo sentimos, ahora mismo tenemos un problema técnico. "
            "Le pasamos con una persona en cuanto sea posible."
        ),
    },
    "en": {
        "please-hold": "Please hold for a moment.",
        "goodbye": "Thank you for calling. Goodbye.",
        "technical-problem": (
            "We are sorry, we have a technical problem right now. "
            "Please hold, someone will be with you as soon as possible."
        ),
    },
}
PROMPT_FORMATS = ("sln16", "sln", "ulaw")
#: chords of the progression: (pad frequencies…, bass), in Hz — C, Am, F, G
CHORDS: tuple[tuple[float, ...], ...] = (
    (261.63, 329.63, 392.00, 130.81),
    (220.00, 261.63, 329.63, 110.00),
    (174.61, 220.00, 261.63, 87.31),
    (196.00, 246.94, 293.66, 98.00),
)
#: the arpeggio over each chord, eighth notes
ARPEGGIOS: tuple[tuple[float, ...], ...] = (
    (523.25, 659.25, 783.99, 659.25, 523.25, 659.25, 783.99, 1046.50),
    (440.00, 523.25, 659.25, 523.25, 440.00, 523.25, 659.25, 880.00),
    (349.23, 440.00, 523.25, 440.00, 349.23, 440.00, 523.25, 698.46),
    (392.00, 493.88, 587.33, 493.88, 392.00, 493.88, 587.33, 783.99),
)
CHORD_SECONDS = 4.0
RATE = 16000
SOX_TIMEOUT = 60.0
#: speech a little below full scale; music quieter still, under the agent's voice level
MUSIC_LEVEL = Treatment(trim=False, normalize=True, level_db=-8.0)


class SoundsError(CallbotError):
    """The default sounds could not be generated (sox or espeak-ng missing or failing)."""


def register(subparsers: Any) -> None:
    sounds = command(
        subparsers,
        "sounds",
        "the kit's default prompts and royalty-free hold music",
        "Sounds that exist without TTS, for the dialplan's fallbacks (please hold, "
        "goodbye, technical problem; es and en) and hold music synthesised here, free of "
        "rights. See sounds/README.md.",
        """\
agi-callbot sounds generate""",
    )
    actions = sounds.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = command(
        actions,
        "generate",
        "(re)make sounds/callbot/ and sounds/moh/",
        "Render the fallback prompts into <output>/callbot/<language>/ and the hold music "
        "into <output>/moh/, linked into one MOH class per team, in Asterisk's formats.",
        """\
agi-callbot sounds generate
agi-callbot sounds generate --output /var/lib/asterisk/sounds-kit --teams ventas soporte
agi-callbot sounds generate --only prompts""",
    )
    p.add_argument(
        "--output", type=Path, default=Path("sounds"), help="folder to write (default: ./sounds)"
    )
    p.add_argument(
        "--repeats", type=int, default=2, help="times the 16 s progression plays (default: 2)"
    )
    p.add_argument(
        "--teams",
        nargs="*",
        default=list(TEAMS),
        help=f"MOH classes to link (default: {' '.join(TEAMS)})",
    )
    p.add_argument("--only", choices=("prompts", "moh"), help="make only one half (default: both)")
    p.set_defaults(func=cmd_generate)


def cmd_generate(args: argparse.Namespace) -> int:
    written = asyncio.run(
        generate(args.output, repeats=args.repeats, teams=args.teams, only=args.only)
    )
    total = sum(p.stat().st_size for p in written if not p.is_symlink())
    for path in written:
        print(path)
    print(f"{len(written)} files, {total / 1024:.0f} KiB")
    return 0


async def generate(
    output: Path, *, repeats: int = 2, teams: Sequence[str] = TEAMS, only: str | None = None
) -> list[Path]:
    written: list[Path] = []
    if only in (None, "prompts"):
        written += await generate_prompts(output / "callbot")
    if only in (None, "moh"):
        written += await generate_moh(output / "moh", repeats=repeats, teams=teams)
    return written


async def generate_prompts(folder: Path) -> list[Path]:
    """Speak every prompt with espeak-ng and write it in each prompt format."""
    engine = EspeakEngine(Tts())
    written: list[Path] = []
    for language, texts in PROMPTS.items():
        options = engine.options(language, {})
        if options is None:
            raise SoundsError(f"espeak-ng has no voice for {language!r} (is espeak-ng installed?)")
        target = folder / language
        target.mkdir(parents=True, exist_ok=True)
        for prompt_id, text in texts.items():
            source = await engine.synthesize(text, options)
            for ext in PROMPT_FORMATS:
                path = target / f"{prompt_id}.{ext}"
                await _convert(source, path, FORMATS[ext], FULL)
                written.append(path)
    return written


async def generate_moh(folder: Path, *, repeats: int, teams: Sequence[str]) -> list[Path]:
    """Synthesize the hold music into ``default/`` and link it into each team's folder."""
    if repeats < 1:
        raise SoundsError("--repeats must be at least 1")
    default = folder / "default"
    default.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="callbot-moh-") as temp:
        music = await _synthesize(Path(temp), repeats)
        for ext in MOH_FORMATS:
            path = default / f"{MOH_NAME}.{ext}"
            await _convert(music, path, FORMATS[ext], MUSIC_LEVEL)
            written.append(path)
    return written + link_team_music(folder, teams)


async def _convert(
    source: SourceAudio | Path, out: Path, fmt: AudioFormat, treatment: Treatment
) -> None:
    """The prompts pipeline's sox command, without dither: the same input gives the same bytes."""
    if isinstance(source, Path):
        command = sox_command((), str(source), out, fmt, treatment)
        stdin = None
    else:
        command = sox_command(source.sox_args, "-", out, fmt, treatment)
        stdin = source.data
    command.insert(1, "-D")
    await run_process(command, stdin, SOX_TIMEOUT)
    if out.stat().st_size <= fmt.header_bytes:
        raise SoundsError(f"{out}: no audio left after the pipeline")


async def _sox(*words: str | Path) -> None:
    """Run sox without dither; a ``str`` is split into arguments, a ``Path`` is one."""
    args: list[str] = []
    for word in words:
        args += [str(word)] if isinstance(word, Path) else word.split()
    await run_process(["sox", "-V1", "-D", *args], None, SOX_TIMEOUT)


async def _synthesize(temp: Path, repeats: int) -> Path:
    """The progression as a 16 kHz mono WAV: pad + bass, arpeggio, mixed, reverb."""
    new = f"-r {RATE} -b 16"
    pads: list[Path] = []
    arps: list[Path] = []
    for index, (chord, notes) in enumerate(zip(CHORDS, ARPEGGIOS, strict=True)):
        multi, pad = temp / f"pad{index}-multi.wav", temp / f"pad{index}.wav"
        sines = " ".join(f"sine {freq:g}" for freq in chord)
        length = f"{CHORD_SECONDS:g}"
        # one channel per tone, then mixed down: a chord with a slow swell and fade
        await _sox("-n", new, f"-c {len(chord)}", multi, f"synth {length} {sines}")
        await _sox(multi, "-c 1", pad, f"remix - tremolo 0.2 20 fade q 0.6 {length} 0.8")
        pads.append(pad)
        step = f"{CHORD_SECONDS / len(notes):g}"
        plucks: list[Path] = []
        for n, freq in enumerate(notes):
            note = temp / f"arp{index}-{n}.wav"
            await _sox(
                "-n", new, "-c 1", note, f"synth {step} pluck {freq:g} fade q 0.005 {step} 0.3"
            )
            plucks.append(note)
        arp = temp / f"arp{index}.wav"
        await _sox(*plucks, arp)
        arps.append(arp)
    pad_all, arp_all = temp / "pad.wav", temp / "arp.wav"
    await _sox(*(pads * repeats), pad_all)
    await _sox(*(arps * repeats), arp_all)
    mixed, music = temp / "mixed.wav", temp / "music.wav"
    await _sox("-m -v 0.6", pad_all, "-v 0.25", arp_all, mixed)
    # the fade's end in seconds: "-0" (to the end) after reverb halves the length on sox 14.4.2
    total = f"{CHORD_SECONDS * len(CHORDS) * repeats:g}"
    await _sox(mixed, music, f"highpass 60 reverb 40 50 60 fade q 0.05 {total} 0.05")
    return music
