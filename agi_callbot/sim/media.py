"""What the in-memory Asterisk knows about sounds, from tests/transcripts.

Formats and sample rates of local prompt files (34, 36), what an HTTP server serves
for a prompt URL (34, 35, 40, 42), the lengths of stock prompts, the files SAY
NUMBER plays in English and Spanish (06, 39), and :class:`MediaPlayer`: finding and
playing a prompt, and hold music, for :class:`~agi_callbot.sim.asterisk.MemoryAsterisk`.
"""

from __future__ import annotations

import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from agi_callbot.sim.caller import CallerEvent

RATE = 8000
#: formats Asterisk finds for a name without extension, cheapest for an 8 kHz slin
#: channel first (36): bytes per second and sample rate; wav files are checked for it
FORMATS: dict[str, tuple[int, int]] = {
    ".sln": (16000, 8000),
    ".wav": (16000, 8000),
    ".sln16": (32000, 16000),
    ".wav16": (32000, 16000),
    ".ulaw": (8000, 8000),
    ".alaw": (8000, 8000),
    ".gsm": (1650, 8000),
    ".g722": (8000, 16000),
}
#: seconds of a stock ``digits/*`` and ``letters/*`` prompt (06)
SAY_FILE = 0.85
SAY_LETTER = 0.68


@dataclass(frozen=True)
class Sound:
    """A prompt Asterisk finds: its length, and the sample rate ``endpos`` counts in (36)."""

    seconds: float
    rate: int = RATE


@dataclass(frozen=True)
class Served:
    """What an HTTP server answers for a prompt URL (34, 35, 40, 42).

    ``kind`` is what the bytes are (``wav`` = 8 kHz mono RIFF, ``wav16``, ``sln``,
    ``sln16``, ``ulaw``, ``alaw``, ``gsm``); ``status`` ``None`` means nothing listens;
    ``delay`` is how long the server takes to answer."""

    kind: str = "wav"
    seconds: float = 1.0
    content_type: str | None = None
    status: int | None = 200
    delay: float = 0.0

    @property
    def size(self) -> int:
        per_second = FORMATS.get(f".{self.kind}", (16000, RATE))[0]
        return round(self.seconds * per_second) + (44 if self.kind.startswith("wav") else 0)


#: MIME types format modules register; res_http_media_cache tries them before the
#: URL's extension, then again without parameters (42). format_sln registers none.
MEDIA_TYPES = {
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/x-wav;codec=pcm;bit=16;rate=8000": ".wav",
    "audio/x-wav;codec=pcm;bit=16;rate=16000": ".wav16",
    "audio/basic": ".ulaw",
    "audio/gsm": ".gsm",
}


#: seconds of the stock English queue prompts (38)
QUEUE_PROMPTS = {
    "queue-youarenext": 5.36,
    "queue-thereare": 2.25,
    "digits/N": 0.75,
    "queue-callswaiting": 2.47,
    "queue-thankyou": 1.59,
    "queue-periodic-announce": 7.83,
}


def number_files_en(number: int) -> list[str]:
    """Asterisk's English SAY NUMBER: 1234 is one thousand two hundred thirty four."""
    if number < 0:
        return ["digits/minus", *number_files_en(-number)]
    for size, word in ((1_000_000_000, "billion"), (1_000_000, "million"), (1000, "thousand")):
        if number >= size:
            rest = number % size
            head = [*number_files_en(number // size), f"digits/{word}"]
            return head + (number_files_en(rest) if rest else [])
    if number >= 100:
        rest = number % 100
        head = [f"digits/{number // 100}", "digits/hundred"]
        return head + (number_files_en(rest) if rest else [])
    if number < 20 or number % 10 == 0:
        return [f"digits/{number}"]
    return [f"digits/{number - number % 10}", f"digits/{number % 10}"]


def number_files_es(number: int, gender: str = "") -> list[str]:
    """Asterisk's Spanish SAY NUMBER (39): mil doscientos treinta y cuatro, ``1F`` for
    una, ``100-and`` for ciento, ``millions``; the es pack has no ``digits/100``."""
    if number < 0:
        return ["digits/minus", *number_files_es(-number, gender)]
    if number == 1 and gender == "f":
        return ["digits/1F"]
    if number < 31:
        return [f"digits/{number}"]
    if number < 100:
        units = number % 10
        return [f"digits/{number - units}"] + (["digits/and", f"digits/{units}"] if units else [])
    if number < 1000:
        rest = number % 100
        head = (
            "digits/100"
            if number == 100
            else ("digits/100-and" if number < 200 else f"digits/{number - rest}")
        )
        return [head] + (number_files_es(rest, gender) if rest else [])
    if number < 1_000_000:
        rest = number % 1000
        head = [] if number < 2000 else number_files_es(number // 1000, gender)
        return [*head, "digits/thousand"] + (number_files_es(rest, gender) if rest else [])
    rest = number % 1_000_000
    millions = number // 1_000_000
    head = (
        ["digits/1M", "digits/million"]
        if millions == 1
        else ([*number_files_es(millions), "digits/millions"])
    )
    return head + (number_files_es(rest, gender) if rest else [])


def file_sound(path: Path) -> Sound | None:
    """A local prompt: Asterisk tries ``<path>.<format>`` by cost (34, 36).

    ``hola.wav`` is looked up as ``hola.wav.sln``… and not found (34); a ``.wav`` must be
    8 kHz mono, a ``.wav16`` 16 kHz mono, or it fails to open (36)."""
    for ext, (per_second, rate) in FORMATS.items():
        candidate = path.with_name(path.name + ext)
        if not candidate.is_file():
            continue
        if ext in (".wav", ".wav16"):
            try:
                with wave.open(str(candidate)) as audio:
                    if audio.getframerate() != rate or audio.getnchannels() != 1:
                        return None
                    return Sound(audio.getnframes() / rate, rate)
            except (wave.Error, EOFError):
                return None
        return Sound(candidate.stat().st_size / per_second, rate)
    return None


class MediaPlayer:
    """Prompts and hold music of one call; mixed into MemoryAsterisk (its clock, caller
    and ``setup``)."""

    setup: Any
    now: float
    language: str
    played: list[str]
    moh: list[str]
    moh_playing: str | None
    last: str | None
    _listen: Callable[[float | None, str], CallerEvent | None]

    def _sound(self, name: str) -> Sound | None:
        """What Asterisk would find for ``name``; ``None`` if it finds nothing."""
        setup = self.setup
        if name in setup.missing_sounds:
            return None
        if name in setup.sounds:
            return setup.sounds[name]
        if name in setup.urls:
            return self._fetch(name, setup.urls[name])
        if name.startswith("/"):
            return file_sound(Path(name))
        return Sound(2.0)

    def _fetch(self, url: str, served: Served) -> Sound | None:
        """res_http_media_cache: download, pick the format, open the file (40, 42)."""
        self.now += served.delay  # fetched while the command runs
        if served.status != 200:
            return None  # 404, or nothing listening
        # asterisk#444: the local path is copied into strlen(URL)+strlen(language)+4 bytes
        if self.setup.media_cache_path + 1 > len(url) + len(self.language) + 4:
            return None
        content_type = (served.content_type or "").replace(" ", "")
        ext = MEDIA_TYPES.get(content_type) or MEDIA_TYPES.get(content_type.split(";")[0])
        ext = ext or PurePosixPath(urlsplit(url).path).suffix
        if ext not in FORMATS:
            return None  # no extension Asterisk knows: "does not exist in any format"
        per_second, rate = FORMATS[ext]
        if ext in (".wav", ".wav16"):
            # the bytes must be a RIFF file at the rate the format expects (36)
            return Sound(served.seconds, rate) if served.kind == ext[1:] else None
        return Sound(served.size / per_second, rate)  # raw formats play any bytes (42)

    def _play(self, name: str, digits: str, offset: int = 0) -> tuple[str, int]:
        """Play a prompt: (``done``/``digit``/``hangup``/``missing``, endpos in file samples).

        The digit that stopped it is in :attr:`last`."""
        self._stop_moh()  # STREAM FILE stops hold music and does not restart it (14)
        sound = self._sound(name)
        if sound is None:
            return "missing", 0
        self.played.append(name)
        total = round(sound.seconds * sound.rate)
        start = self.now
        event = self._listen(max(total - offset, 0) / sound.rate, digits)
        if event is None:
            return "done", max(total, offset)
        self.last = event.dtmf
        endpos = offset + int((self.now - start) * sound.rate)
        return ("hangup" if event.hangup else "digit"), endpos

    def _moh_exists(self, name: str) -> bool:
        classes = self.setup.moh_classes
        return bool(name) and (classes is None or name in classes)

    def _start_moh(self, name: str) -> None:
        self.moh.append(name)
        self.moh_playing = name

    def _stop_moh(self) -> None:
        self.moh_playing = None
