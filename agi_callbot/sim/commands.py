"""The AGI commands of the in-memory Asterisk, answered as Asterisk 22 does.

One method per command (prompts, DTMF, SAY, CONTROL STREAM FILE, ANSWER, HANGUP, SET
MUSIC…; channel variables and AstDB are in :mod:`agi_callbot.sim.variables`), the
table of names with their argument counts (more or fewer answer 520 like res_agi),
and the dead-channel rule (511). A mixin of
:class:`~agi_callbot.sim.asterisk.MemoryAsterisk`: the clock, the caller and the
prompt player are there and in :class:`~agi_callbot.sim.media.MediaPlayer`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from agi_callbot.sim.caller import CallerEvent
from agi_callbot.sim.media import RATE, SAY_FILE, SAY_LETTER, number_files_en, number_files_es
from agi_callbot.sim.variables import ChannelVariables

ALL_DIGITS = "0123456789*#ABCD"
#: what a dead channel still answers (18-22); everything else gets 511
_DEAD_OK = frozenset(
    {"NOOP", "GET VARIABLE", "GET FULL VARIABLE", "SET VARIABLE", "VERBOSE", "EXEC"}
    | {"DATABASE GET", "DATABASE PUT", "DATABASE DEL", "DATABASE DELTREE"}
)
_DEAD = "511 Command Not Permitted on a dead channel or intercept routine"
_UNKNOWN = "510 Invalid or unknown command"


def atoi(text: str) -> int:
    """``atoi``: leading digits, 0 for none (Asterisk reads numbers this way)."""
    match = re.match(r"\s*([-+]?\d+)", text)
    return int(match.group(1)) if match else 0


def atof(text: str) -> float:
    match = re.match(r"\s*([-+]?\d+(?:\.\d*)?)", text)
    return float(match.group(1)) if match else 0.0


class AgiCommands(ChannelVariables):
    """AGI command handlers: ``handler(args) -> reply line``; see the module doc."""

    # set by MemoryAsterisk and its other parts
    setup: Any
    now: float
    hung_up: bool
    answered: bool
    answered_at: float | None
    failed: bool
    last: str | None
    played: list[str]
    variables: dict[str, str]
    _listen: Callable[[float | None, str], CallerEvent | None]
    _play: Callable[..., tuple[str, int]]
    _sound: Callable[[str], Any]
    _stop_moh: Callable[[], None]
    _start_moh: Callable[[str], None]
    _moh_exists: Callable[[str], bool]
    _hang_up: Callable[[str], None]

    def dispatch(self, words: list[str], name: str | None) -> str:
        """The reply to one command line, split into ``words``, named ``name``."""
        spec = COMMANDS.get(name or "")
        if spec is None:
            return _UNKNOWN
        method, least, most = spec
        args = words[len(name.split()) :] if name else []
        if len(args) < least or (most is not None and len(args) > most):
            return _usage(name or "")
        if self.hung_up and name not in _DEAD_OK:
            return _DEAD
        answer: Callable[[list[str]], str] = getattr(self, method)
        return answer(args)

    def stream_file(self, args: list[str]) -> str:
        """PLAYBACKSTATUS: SUCCESS, or FAILED when a digit or hangup stopped it (37);
        a file that does not open leaves it alone (03)."""
        offset = atoi(args[2]) if len(args) > 2 else 0
        outcome, endpos = self._play(args[0], args[1], max(offset, 0))
        if outcome != "missing":
            self.variables["PLAYBACKSTATUS"] = "SUCCESS" if outcome == "done" else "FAILED"
        self.failed = self.failed or outcome == "missing"
        if outcome in ("missing", "hangup"):
            return f"200 result=-1 endpos={endpos}"
        if outcome == "digit":
            return f"200 result={ord(self.last or '0')} endpos={endpos}"
        return f"200 result=0 endpos={endpos}"

    def get_option(self, args: list[str]) -> str:
        """STREAM FILE, then a wait for one digit in ms (37): any digit ends the wait."""
        timeout = atoi(args[2]) / 1000 if len(args) > 2 else 5.0
        outcome, endpos = self._play(args[0], args[1])
        self.failed = self.failed or outcome == "missing"
        if outcome in ("missing", "hangup"):
            return f"200 result=-1 endpos={endpos}"
        if outcome == "digit":
            return f"200 result={ord(self.last or '0')} endpos={endpos}"
        event = self._listen(timeout if timeout > 0 else 5.0, ALL_DIGITS)
        if event is None or event.hangup or event.dtmf not in args[1]:
            return f"200 result=0 endpos={endpos}"  # a hangup here answers 0 too (37)
        return f"200 result={ord(event.dtmf or '0')} endpos={endpos}"

    def get_data(self, args: list[str]) -> str:
        timeout = atoi(args[1]) / 1000 if len(args) > 1 else 0
        most = atoi(args[2]) if len(args) > 2 else 0
        timeout = timeout if timeout > 0 else 6.0  # the channel's digit timeout (04)
        most = most if most > 0 else 1024
        outcome, _ = self._play(args[0], ALL_DIGITS)
        if outcome in ("missing", "hangup"):
            return "200 result=-1"  # digits typed before a hangup are lost (19)
        digits = ""
        pressed = self.last if outcome == "digit" else None
        while True:
            if pressed == "#":
                return f"200 result={digits}"
            if pressed is not None:
                digits += pressed
                if len(digits) >= most:
                    return f"200 result={digits}"
            event = self._listen(timeout, ALL_DIGITS)
            if event is None:
                return f"200 result={digits} (timeout)"
            if event.hangup:
                return "200 result=-1"
            pressed = event.dtmf

    def wait_for_digit(self, args: list[str]) -> str:
        timeout = atoi(args[0])
        event = self._listen(None if timeout < 0 else timeout / 1000, ALL_DIGITS)
        if event is None:
            return "200 result=0"
        return "200 result=-1" if event.hangup else f"200 result={ord(event.dtmf or '0')}"

    def _say(self, files: list[str], digits: str) -> str:
        """Play stock prompts one after the other; an escape digit stops them (06)."""
        self._stop_moh()
        for name in files:
            seconds = self._say_length(name)
            if seconds is None:
                continue  # missing in every language: skipped, still 0 (39's "100")
            self.played.append(name)
            event = self._listen(seconds, digits)
            if event is not None:
                return "200 result=-1" if event.hangup else f"200 result={ord(event.dtmf or '0')}"
        return "200 result=0"

    def _say_length(self, name: str) -> float | None:
        """A stock prompt in the channel's language, else English (39): ``sounds`` may give
        its length as ``<lang>/<name>`` or ``<name>``."""
        for key in (f"{self._prompt_language()}/{name}", name):
            if key in self.setup.missing_sounds:
                return None
            if key in self.setup.sounds:
                return self.setup.sounds[key].seconds
        return SAY_LETTER if name.startswith("letters/") else SAY_FILE

    def _prompt_language(self) -> str:
        """The sounds folder Asterisk uses: the language, else its part before ``_``
        (``es_MX`` uses ``es``), else English (``xx``; 39)."""
        language = self.language.lower()
        for candidate in (language, language.split("_")[0]):
            known = self.setup.prompt_languages
            if known is None or candidate in known:
                return candidate
        return "en"

    def say_digits(self, args: list[str]) -> str:
        """One ``digits/N`` prompt per digit; other characters play nothing (06)."""
        spoken = {"*": "digits/star", "#": "digits/pound"}
        files = [spoken.get(c, f"digits/{c}") for c in args[0] if c in "0123456789*#"]
        return self._say(files, args[1])

    def say_alpha(self, args: list[str]) -> str:
        return self._say([f"letters/{c.lower()}" for c in args[0]], args[1])

    def say_number(self, args: list[str]) -> str:
        """English or Spanish grammar by the channel's language (39); ``f`` picks ``1F``."""
        gender = args[2] if len(args) > 2 else ""
        if self.language.lower().startswith("es"):
            files = number_files_es(atoi(args[0]), gender)
        else:
            files = number_files_en(atoi(args[0]))
        return self._say(files, args[1])

    def control_stream_file(self, args: list[str]) -> str:
        """Play with stop/skip/pause keys; ``endpos`` in ms, ``-1`` at the end (37)."""
        name, stop = args[0], args[1]
        skip = atoi(args[2]) / 1000 if len(args) > 2 and args[2] else 3.0
        forward = args[3] if len(args) > 3 and args[3] else "#"
        rewind = args[4] if len(args) > 4 and args[4] else "*"
        pause = args[5] if len(args) > 5 and args[5] else ""
        offset_ms = atoi(args[6]) if len(args) > 6 else 0
        self._stop_moh()
        sound = self._sound(name)
        if sound is None:
            self.variables.update(CPLAYBACKSTATUS="ERROR", CPLAYBACKOFFSET="-1")
            self.failed = True
            return "200 result=-1 endpos=-1"
        # offsets count ms of an 8 kHz file: a 16 kHz one moves twice as fast (37)
        scale = sound.rate / RATE
        position = min(offset_ms / 1000 / scale, sound.seconds)
        self.played.append(name)
        keys = stop + forward + rewind + pause
        paused = False
        while True:
            started = self.now
            event = self._listen(None if paused else sound.seconds - position, keys)
            if not paused:
                position += self.now - started
            if event is None:
                self.variables.update(CPLAYBACKSTATUS="SUCCESS", CPLAYBACKOFFSET="-1")
                return "200 result=0 endpos=-1"
            reached = int(position * 1000 * scale)
            if event.hangup:
                self.variables.update(CPLAYBACKSTATUS="ERROR", CPLAYBACKOFFSET=str(reached))
                return f"200 result=-1 endpos={reached}"
            key = event.dtmf or ""
            if key in stop:
                self.variables.update(
                    CPLAYBACKSTATUS="USERSTOPPED",
                    CPLAYBACKOFFSET=str(reached),
                    CPLAYBACKSTOPKEY=key,
                )
                return f"200 result={ord(key)} endpos={reached}"
            if key in pause:
                paused = not paused
                if not paused:
                    self.played.append(name)  # Asterisk opens the file again (37)
            elif not paused and key in forward:
                position = min(position + skip, sound.seconds)
            elif not paused and key in rewind:
                position = max(position - skip, 0.0)

    def answer(self, args: list[str]) -> str:
        if not self.answered:
            self.answered = True
            self.now += 0.5  # the first ANSWER takes about 0.5 s, a second none (31)
            self.answered_at = self.now
        return "200 result=0"

    def hangup(self, args: list[str]) -> str:
        if args and not self._channel_known(args[0]):
            return "200 result=-1"
        self._hang_up("bot")
        return "200 result=1"

    def channel_status(self, args: list[str]) -> str:
        if args and not self._channel_known(args[0]):
            return "200 result=-1"
        return "200 result=6" if self.answered else "200 result=4"

    def set_music(self, args: list[str]) -> str:
        """Always ``0``; an unknown class plays ``default``; neither ON nor OFF: ignored (14)."""
        state = args[0].upper()
        if state == "ON":
            wanted = args[1] if len(args) > 1 else "default"
            self._start_moh(wanted if self._moh_exists(wanted) else "default")
        elif state == "OFF":
            self._stop_moh()
        return "200 result=0"

    def noop(self, args: list[str]) -> str:
        return "200 result=0"

    def verbose(self, args: list[str]) -> str:
        return "200 result=1"


def command_name(words: list[str]) -> str | None:
    """The longest command name the words start with (names are case-insensitive, 16)."""
    upper = [w.upper() for w in words]
    for size in (3, 2, 1):
        name = " ".join(upper[:size])
        if len(upper) >= size and name in COMMANDS:
            return name
    return None


def _usage(name: str) -> str:
    return (
        "520-Invalid command syntax.  Proper usage follows:\n"
        f"Usage: {name} (see the AGI documentation)\n"
        "520 End of proper usage."
    )


COMMANDS: dict[str, tuple[str, int, int | None]] = {
    # name: (method, least and most arguments; more or fewer answer 520 like res_agi)
    "ANSWER": ("answer", 0, None),
    "HANGUP": ("hangup", 0, 1),
    "NOOP": ("noop", 0, None),
    "CHANNEL STATUS": ("channel_status", 0, 1),
    "STREAM FILE": ("stream_file", 2, 3),
    "CONTROL STREAM FILE": ("control_stream_file", 2, 7),
    "GET OPTION": ("get_option", 2, 3),
    "GET DATA": ("get_data", 1, None),
    "WAIT FOR DIGIT": ("wait_for_digit", 1, 1),
    "SAY DIGITS": ("say_digits", 2, 2),
    "SAY ALPHA": ("say_alpha", 2, 2),
    "SAY NUMBER": ("say_number", 2, 3),
    "SET MUSIC": ("set_music", 1, 2),
    "SET VARIABLE": ("set_variable", 2, 2),
    "GET VARIABLE": ("get_variable", 1, 1),
    "GET FULL VARIABLE": ("get_full_variable", 1, 2),
    "VERBOSE": ("verbose", 1, 2),
    "EXEC": ("exec", 1, None),
    "DATABASE GET": ("database_get", 2, 2),
    "DATABASE PUT": ("database_put", 3, 3),
    "DATABASE DEL": ("database_del", 2, 2),
    "DATABASE DELTREE": ("database_deltree", 1, 2),
}
