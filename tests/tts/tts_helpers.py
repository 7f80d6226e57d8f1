"""Audio helpers for the prompt tests: tones, samples, levels."""

from __future__ import annotations

import io
import math
import wave
from array import array
from typing import Any


def tone_wav(
    freq: float,
    rate: int,
    seconds: float,
    amplitude: float = 0.5,
    channels: int = 1,
    lead_silence: float = 0.0,
) -> bytes:
    """A sine tone as WAV bytes (optionally after some silence)."""
    frames = array("h")
    frames.extend([0] * channels * int(rate * lead_silence))
    for n in range(int(rate * seconds)):
        value = int(amplitude * 32767 * math.sin(2 * math.pi * freq * n / rate))
        frames.extend([value] * channels)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames.tobytes())
    return buffer.getvalue()


def samples(raw: bytes) -> array:
    data = array("h")
    data.frombytes(raw[: len(raw) // 2 * 2])
    return data


def rms(values: Any) -> float:
    values = list(values)
    return math.sqrt(sum(v * v for v in values) / max(len(values), 1))


def peak_dbfs(values: Any) -> float:
    peak = max(abs(v) for v in values)
    return 20 * math.log10(peak / 32768) if peak else -math.inf


def wav_info(data: bytes) -> tuple[int, int, int]:
    """(rate, channels, frames) of WAV bytes."""
    with wave.open(io.BytesIO(data)) as wav:
        return wav.getframerate(), wav.getnchannels(), wav.getnframes()
