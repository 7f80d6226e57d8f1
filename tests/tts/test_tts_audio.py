"""The sox/pydub pipeline with the real sox and ffmpeg: formats, anti-aliasing, levels."""

from __future__ import annotations

import io
import math
import subprocess
from pathlib import Path

import pytest
from pydub import AudioSegment
from tts_helpers import peak_dbfs, rms, samples, tone_wav, wav_info

from agi_callbot.errors import PromptError
from agi_callbot.tts.audio import (
    CONVERT_ONLY,
    FORMATS,
    ProcessFailed,
    SourceAudio,
    Treatment,
    concatenate,
    convert,
    load_upload,
    run_process,
)


def wav_source(data: bytes) -> SourceAudio:
    return SourceAudio(data, ("-t", "wav"))


async def test_antialias_6khz_tone_to_8khz_is_attenuated_40db(tmp_path: Path) -> None:
    """A 6 kHz tone cannot exist at 8 kHz: a proper resampler removes it (≥ 40 dB)."""
    source = tone_wav(6000, 48000, 1.0)
    in_rms = rms(samples(source[44:]))
    out = tmp_path / "tone.sln"
    await convert(wav_source(source), out, FORMATS["sln"], treatment=CONVERT_ONLY)
    resampled = samples(out.read_bytes())
    assert len(resampled) == 8000
    attenuation = 20 * math.log10(in_rms / max(rms(resampled), 1e-9))
    assert attenuation >= 40, f"only {attenuation:.1f} dB"
    # what is left is the tone's abrupt start and end; in between, 16-bit quantisation
    steady = 20 * math.log10(in_rms / max(rms(resampled[400:-400]), 1e-9))
    assert steady >= 80, f"only {steady:.1f} dB away from the edges"

    # pydub's own set_frame_rate (audioop.ratecv) has no anti-alias filter: the tone
    # folds back to 2 kHz at nearly full level, failing the same check.
    naive = AudioSegment.from_wav(io.BytesIO(source)).set_frame_rate(8000)
    naive_attenuation = 20 * math.log10(in_rms / max(naive.rms, 1e-9))
    assert naive_attenuation < 40
    assert naive_attenuation < 10


async def test_in_band_tone_survives_resampling(tmp_path: Path) -> None:
    source = tone_wav(1000, 48000, 1.0)
    out = tmp_path / "tone.sln"
    await convert(wav_source(source), out, FORMATS["sln"], treatment=CONVERT_ONLY)
    loss = 20 * math.log10(rms(samples(source[44:])) / rms(samples(out.read_bytes())))
    assert abs(loss) < 0.5


@pytest.mark.parametrize(
    ("ext", "rate", "bytes_per_sample"),
    [("sln", 8000, 2), ("sln16", 16000, 2), ("ulaw", 8000, 1), ("alaw", 8000, 1)],
)
async def test_raw_formats_have_the_right_rate(
    tmp_path: Path, ext: str, rate: int, bytes_per_sample: int
) -> None:
    out = tmp_path / f"p.{ext}"
    await convert(wav_source(tone_wav(440, 22050, 1.0)), out, FORMATS[ext], treatment=CONVERT_ONLY)
    assert abs(out.stat().st_size - rate * bytes_per_sample) <= 2 * bytes_per_sample


async def test_wav_is_8khz_mono_and_wav16_is_16khz(tmp_path: Path) -> None:
    """Asterisk refuses a 16 kHz or stereo .wav (transcript 36): .wav16 carries 16 kHz."""
    stereo = wav_source(tone_wav(440, 44100, 0.5, channels=2))
    await convert(stereo, tmp_path / "p.wav", FORMATS["wav"])
    await convert(stereo, tmp_path / "p.wav16", FORMATS["wav16"])
    assert wav_info((tmp_path / "p.wav").read_bytes())[:2] == (8000, 1)
    assert wav_info((tmp_path / "p.wav16").read_bytes())[:2] == (16000, 1)


async def test_silence_is_trimmed_and_level_normalised(tmp_path: Path) -> None:
    quiet = tone_wav(440, 16000, 1.0, amplitude=0.05, lead_silence=1.0)  # 1 s silence first
    out = tmp_path / "p.sln16"
    await convert(wav_source(quiet), out, FORMATS["sln16"], treatment=Treatment(level_db=-2.0))
    result = samples(out.read_bytes())
    assert 0.95 * 16000 <= len(result) <= 1.02 * 16000  # the leading second is gone
    assert -2.5 <= peak_dbfs(result) <= -1.5


async def test_convert_refuses_silence_only(tmp_path: Path) -> None:
    silent = tone_wav(440, 16000, 0.0, lead_silence=1.0)
    out = tmp_path / "p.sln"
    with pytest.raises(PromptError, match="no audio"):
        await convert(wav_source(silent), out, FORMATS["sln"])


async def test_convert_from_a_cached_raw_format(tmp_path: Path) -> None:
    master = tmp_path / "p.sln16"
    await convert(wav_source(tone_wav(440, 16000, 1.0)), master, FORMATS["sln16"])
    out = tmp_path / "p.wav"
    await convert(
        master, out, FORMATS["wav"], treatment=CONVERT_ONLY, source_format=FORMATS["sln16"]
    )
    rate, channels, frames = wav_info(out.read_bytes())
    assert (rate, channels) == (8000, 1) and abs(frames - 8000) < 10


async def test_sox_error_is_a_prompt_error(tmp_path: Path) -> None:
    with pytest.raises(ProcessFailed, match="sox failed"):
        await convert(wav_source(b"not a wav at all"), tmp_path / "p.sln", FORMATS["sln"])


async def test_run_process_kills_at_deadline() -> None:
    with pytest.raises(ProcessFailed, match=r"did not finish within 0\.2 s"):
        await run_process(["sleep", "5"], None, 0.2)


async def test_run_process_missing_binary() -> None:
    with pytest.raises(ProcessFailed, match="not installed"):
        await run_process(["no-such-binary-here"], None, 1)


def test_load_upload_decodes_mp3_and_ogg(tmp_path: Path) -> None:
    wav = tmp_path / "music.wav"
    wav.write_bytes(tone_wav(440, 44100, 1.0))
    for ext in ("mp3", "ogg"):
        target = tmp_path / f"music.{ext}"
        subprocess.run(
            ["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), str(target)], check=True
        )
        source = load_upload(target)
        rate, channels, frames = wav_info(source.data)
        assert channels == 1 and 0.9 < frames / rate < 1.2


def test_load_upload_corrupt_file_names_it(tmp_path: Path) -> None:
    bad = tmp_path / "welcome.mp3"
    bad.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(PromptError, match=r"welcome\.mp3: not a readable audio file"):
        load_upload(bad)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(PromptError, match=r"empty\.wav: the file is empty"):
        load_upload(empty)


def test_load_upload_raw_asterisk_format(tmp_path: Path) -> None:
    raw = tmp_path / "hello.sln16"
    raw.write_bytes(samples(tone_wav(440, 16000, 0.5)[44:]).tobytes())
    source = load_upload(raw)
    assert source.sox_args == FORMATS["sln16"].input_args()


def test_concatenate_joins_with_a_pause() -> None:
    a = wav_source(tone_wav(440, 22050, 1.0))
    b = wav_source(tone_wav(660, 22050, 0.5))
    joined = concatenate([a, b], gap_ms=250)
    rate, _, frames = wav_info(joined.data)
    assert abs(frames / rate - 1.75) < 0.01
