"""Hold-music test audio: an MP3 with a 1 kHz and a 6 kHz tone, and what reached 2 kHz.

A 6 kHz tone cannot exist at 8 kHz: a resampler without an anti-alias filter folds it
back to 2 kHz. The 1 kHz tone (same level in the upload) is the reference.
"""

from __future__ import annotations

import io
import math
import subprocess
import wave
from array import array
from pathlib import Path

#: how Asterisk's raw formats are read back with sox
RAW = {
    "sln": ("-t", "raw", "-e", "signed-integer", "-b", "16", "-L", "-r", "8000"),
    "sln16": ("-t", "raw", "-e", "signed-integer", "-b", "16", "-L", "-r", "16000"),
    "ulaw": ("-t", "ul", "-r", "8000"),
    "alaw": ("-t", "al", "-r", "8000"),
}
RATES = {"sln": 8000, "sln16": 16000, "ulaw": 8000, "alaw": 8000}


def two_tone_mp3(folder: Path, name: str = "Summer Song.mp3", seconds: float = 3.0) -> Path:
    """1 kHz + 6 kHz at the same level, 48 kHz stereo, encoded as MP3 by ffmpeg."""
    rate = 48000
    frames = array("h")
    for n in range(int(rate * seconds)):
        t = n / rate
        value = int(
            0.35 * 32767 * (math.sin(2 * math.pi * 1000 * t) + math.sin(2 * math.pi * 6000 * t))
        )
        frames.extend([value, value])
    wav = folder / "two-tone.wav"
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames.tobytes())
    mp3 = folder / name
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-b:a", "192k", str(mp3)], check=True
    )
    return mp3


def pcm(path: Path) -> list[int]:
    """The file's samples as 16-bit integers (sox decodes ulaw/alaw)."""
    ext = path.suffix[1:]
    raw = subprocess.run(
        ["sox", *RAW[ext], "-c", "1", str(path), "-t", "raw", "-e", "signed-integer",
         "-b", "16", "-L", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    data = array("h")
    data.frombytes(raw[: len(raw) // 2 * 2])
    return list(data)


def level(values: list[int], freq: float, rate: int) -> float:
    """Magnitude of one frequency (Goertzel, Hann window) over the steady part."""
    values = values[len(values) // 10 : -len(values) // 10]
    n = len(values)
    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for i, v in enumerate(values):
        w = 0.5 - 0.5 * math.cos(2 * math.pi * i / (n - 1))
        s0 = v * w + coeff * s1 - s2
        s2, s1 = s1, s0
    return math.sqrt(max(s1 * s1 + s2 * s2 - coeff * s1 * s2, 0.0))


def alias_db(path: Path) -> float:
    """dB of 2 kHz (where 6 kHz folds to at 8 kHz) relative to the 1 kHz reference."""
    values = pcm(path)
    rate = RATES[path.suffix[1:]]
    return 20 * math.log10(max(level(values, 2000, rate), 1e-9) / level(values, 1000, rate))


def tone_db(path: Path, freq: float) -> float:
    values = pcm(path)
    rate = RATES[path.suffix[1:]]
    return 20 * math.log10(max(level(values, freq, rate), 1e-9) / level(values, 1000, rate))


def wav_rate(data: bytes) -> int:
    with wave.open(io.BytesIO(data)) as wav:
        return wav.getframerate()
