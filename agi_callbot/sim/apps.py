"""Dialplan applications the in-memory Asterisk runs for ``EXEC`` (08-14, 38, 41).

Playback, Wait, Set, NoOp/Verbose, Goto, Queue (outcomes, announcements that outlast
the timeout, hold-music classes) and Dial, with the channel variables they leave
(PLAYBACKSTATUS, QUEUESTATUS, DIALSTATUS, ANSWEREDTIME, DIALEDTIME, MEMBERNAME). A
mixin of :class:`~agi_callbot.sim.asterisk.MemoryAsterisk`: it uses the call's
clock, caller and prompt player from there, and its queues and agents from
:class:`~agi_callbot.sim.setup.AsteriskSetup`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from agi_callbot.sim.caller import CallerEvent
from agi_callbot.sim.commands import atof, atoi
from agi_callbot.sim.media import QUEUE_PROMPTS
from agi_callbot.sim.setup import QueueSetup


class DialplanApps:
    """``EXEC`` applications; mixed into MemoryAsterisk (see the module doc)."""

    # set by MemoryAsterisk
    setup: Any
    variables: dict[str, str]

    def exec(self, args: list[str]) -> str:
        app, data = args[0], args[1] if len(args) > 1 else ""
        self.apps.append((app, data))
        runner = _APPS.get(app.lower())
        if runner is None:
            return "200 result=-2"
        if self.hung_up and app.lower() not in ("set", "verbose", "noop", "goto"):
            return "200 result=-1"
        return f"200 result={runner(self, data.split(','))}"

    def app_playback(self, opts: list[str]) -> int:
        """Playback answers 0 even for a missing file; PLAYBACKSTATUS says (08)."""
        for name in opts[0].split("&"):
            outcome, _ = self._play(name, "")
            self.variables["PLAYBACKSTATUS"] = "SUCCESS" if outcome == "done" else "FAILED"
            if outcome == "hangup":
                return -1
            if outcome == "missing":
                return 0
        return 0

    def app_wait(self, opts: list[str]) -> int:
        seconds = atof(opts[0])
        return -1 if self._listen(seconds, "") is not None else 0  # DTMF is swallowed (30)

    def app_set(self, opts: list[str]) -> int:
        name, _, value = ",".join(opts).partition("=")
        self.set_variable([name, value])
        return 0

    def app_noop(self, opts: list[str]) -> int:
        return 0

    def app_goto(self, opts: list[str]) -> int:
        """``[[context,]exten,]priority``: the pbx adds one when the app returns (29)."""
        parts = [p for p in opts if p != ""] or ["1"]
        if len(parts) >= 3:
            self.context = parts[-3]
        if len(parts) >= 2:
            self.extension = parts[-2]
        self.priority = str(atoi(parts[-1]) - 1)
        return 0

    def _moh_for_queue(self, queue: str, options: str) -> str | None:
        """The class Queue plays (41): channel class and the queue's, first that exists."""
        if "r" in re.sub(r"\([^)]*\)", "", options):
            return None  # ring instead of music
        music = re.search(r"m\(([^)]*)\)", options)
        requested = music.group(1) if music else self.setup.queue_music.get(queue, "")
        order = [self.musicclass, requested]
        if not self.setup.prefer_channel_class:
            order.reverse()
        return next((c for c in order if self._moh_exists(c)), "default")

    def app_queue(self, opts: list[str]) -> int:
        """Queue(name,options,URL,announceoverride,timeout) with the outcome of ``queues``."""
        name = opts[0]
        options = opts[1] if len(opts) > 1 else ""
        timeout = atof(opts[4]) if len(opts) > 4 and opts[4] else 300.0
        queue = self.setup.queue(name)
        outcome = queue.outcome
        self.variables.update(ANSWEREDTIME="", DIALEDTIME="")
        self.variables.pop("QUEUESTATUS", None)
        if outcome in ("full", "joinempty"):
            self.variables["QUEUESTATUS"] = outcome.upper()
            return 0
        self._stop_moh()
        music = self._moh_for_queue(name, options)
        if music is not None:
            self._start_moh(music)
        start = self.now
        left = self._announce(queue, music)
        remaining = max(timeout - (self.now - start), 0.0)
        if left is None:
            ring = self.setup.ring_seconds
            waited = {"answer": ring, "continue": ring}.get(outcome)
            waited = {"leaveempty": 5.0, "hangup": ring}.get(outcome, waited)
            waited = remaining if waited is None else min(waited, remaining)
            left = self._listen(waited, "")
            if left is None and outcome == "hangup" and waited < remaining:
                self._hang_up("caller")  # the caller gives up while queued (12)
                left = CallerEvent(self.now)
        self._stop_moh()  # MOH is off after Queue returns (41)
        expired = left is None and (outcome in ("timeout", "hangup") or remaining <= waited)
        if left is not None or expired:
            self.variables.update(ANSWEREDTIME="0", DIALEDTIME=self._age())
        if left is not None:
            return -1
        if expired:
            self.variables["QUEUESTATUS"] = "TIMEOUT"
            return 0
        if outcome == "leaveempty":
            self.variables["QUEUESTATUS"] = "LEAVEEMPTY"
            return 0
        start = self.now
        result = self._talk(f"{name}-agent", continue_after="c" in options, queue=True)
        # the agent's talk time, and the caller channel's age (09, 10, 38)
        self.variables.update(ANSWEREDTIME=str(int(self.now - start)), DIALEDTIME=self._age())
        return result

    def _announce(self, queue: QueueSetup, music: str | None) -> CallerEvent | None:
        """The announcements a caller hears on joining (38): none alone at the head of the
        queue unless announce-to-first-user; else position (or "you are next"), "thank
        you", then the periodic one, back to back, nobody rung meanwhile. Hold music
        stops for them and starts again between and after. A hangup ends them."""
        position = queue.waiting + 1
        if position == 1 and not queue.announce_to_first_user:
            return None
        groups: list[list[str]] = []
        if queue.announce_position:
            said = ["queue-youarenext"] if position == 1 else ["queue-thereare", "digits/N"]
            said += [] if position == 1 else ["queue-callswaiting"]
            groups.append([*said, "queue-thankyou"])
        if queue.periodic:
            groups.append(["queue-periodic-announce"])
        for group in groups:
            self._stop_moh()
            self.played += [p.replace("digits/N", f"digits/{position}") for p in group]
            event = self._listen(sum(QUEUE_PROMPTS[p] for p in group), "")
            if event is not None:
                return event
            if music is not None:
                self._start_moh(music)
        return None

    def _age(self) -> str:
        """Whole seconds since the channel was made (about when the AGI connected)."""
        return str(int(self.now))

    def _talk(self, member: str, *, continue_after: bool, queue: bool) -> int:
        """Bridged to an agent: the caller may hang up first, else the agent does.

        Without ``c`` (Queue) or ``g`` (Dial) the app answers ``-1`` when the agent hangs
        up, but the AGI session goes on (09, 13)."""
        self.variables["MEMBERNAME" if queue else "DIALEDPEERNAME"] = member
        event = self._listen(self.setup.talk_seconds, "")
        if event is not None:
            return -1
        if continue_after:
            if queue:
                self.variables["QUEUESTATUS"] = "CONTINUE"
            return 0
        return -1

    def app_dial(self, opts: list[str]) -> int:
        target = opts[0]
        ring = atof(opts[1]) if len(opts) > 1 and opts[1] else 60.0
        options = opts[2] if len(opts) > 2 else ""
        outcome = self.setup.dial.get(target, "NOANSWER")
        self.variables.update(DIALSTATUS="", ANSWEREDTIME="", DIALEDTIME="")
        waited = {"ANSWER": 0.0, "HANGUP": 0.0, "NOANSWER": ring}.get(outcome, 0.0)
        if self._listen(waited, "") is not None:
            self.variables["DIALSTATUS"] = "CANCEL"
            return -1
        self.variables["DIALSTATUS"] = "ANSWER" if outcome == "HANGUP" else outcome
        if outcome not in ("ANSWER", "HANGUP"):
            return 0
        result = self._talk(target, continue_after="g" in options, queue=False)
        # when the bridge ends: time since the caller was answered, and the channel's age (13)
        up = self.now - self.answered_at if self.answered_at is not None else 0.0
        self.variables.update(ANSWEREDTIME=str(int(up)), DIALEDTIME=self._age())
        return result


_APPS: dict[str, Callable[[DialplanApps, list[str]], int]] = {
    "playback": DialplanApps.app_playback,
    "wait": DialplanApps.app_wait,
    "set": DialplanApps.app_set,
    "noop": DialplanApps.app_noop,
    "verbose": DialplanApps.app_noop,
    "goto": DialplanApps.app_goto,
    "queue": DialplanApps.app_queue,
    "dial": DialplanApps.app_dial,
}
