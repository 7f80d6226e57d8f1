"""The Asterisk one simulated call meets: who calls, what they press, which prompts,
queues, agents and hold-music classes exist, and how the AGI session behaves.

:class:`AsteriskSetup` is plain data; :class:`~agi_callbot.sim.asterisk.MemoryAsterisk`
plays one call in it. It stays mutable so a replay can change the world mid-call
(a queue's waiting callers, a reloaded ``musiconhold.conf``: transcripts 38, 41).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from agi_callbot.agi.env import Environment
from agi_callbot.sim.caller import Caller
from agi_callbot.sim.media import Served, Sound

#: queue outcomes a test may ask for, by queue name
QUEUE_OUTCOMES = ("answer", "timeout", "full", "joinempty", "leaveempty", "continue", "hangup")
DIAL_OUTCOMES = ("ANSWER", "BUSY", "NOANSWER", "CHANUNAVAIL", "CONGESTION", "HANGUP")


@dataclass(frozen=True)
class QueueSetup:
    """A queue as queues.conf and the moment make it (a plain outcome string is short for
    ``QueueSetup(outcome)``). ``waiting``: callers already queued ahead of this one."""

    outcome: str = "timeout"
    waiting: int = 0
    announce_position: bool = False
    announce_to_first_user: bool = False
    periodic: bool = False


@dataclass
class AsteriskSetup:
    """One call's world (every field has the recording lab's default).

    The channel: ``script`` (``agi_network_script``, with its ``?query``), ``args``,
    ``callerid``, ``calleridname``, ``language``, ``dnid``; ``env`` overrides any other
    ``agi_*`` value (without the prefix), e.g. a recorded channel name.

    The caller: ``caller`` is a script (``"1,wait:6,2,hangup"``) or a
    :class:`~agi_callbot.sim.caller.Caller` with timed events; ``hangup_at_command``
    hangs up as the N-th command line arrives.

    Prompts: ``sounds`` maps names (or URLs) to seconds or a :class:`Sound`; other names
    play for 2 s, names in ``missing_sounds`` are missing, absolute paths are looked
    up on disk like Asterisk does; SAY's stock prompts may be given per language
    (``es/digits/thousand``) for the folders in ``prompt_languages`` (``None``: any).
    ``urls`` is what HTTP servers answer for prompt URLs; ``media_cache_path`` the
    length of the local path the media cache stores a URL at (asterisk#444).

    Queues and agents: ``queues`` maps a queue to an outcome or a :class:`QueueSetup`,
    ``dial`` a Dial target to its DIALSTATUS; ``ring_seconds`` / ``talk_seconds`` how
    long ringing and an agent's talk last. Hold music: ``moh_classes`` lists the
    classes that exist (``None``: any), ``queue_music`` a queue's ``musicclass``,
    ``prefer_channel_class`` is res_musiconhold's preferchannelclass.

    The session: ``agisighup`` (AGISIGHUP), ``exit_on_hangup`` (AGIEXITONHANGUP),
    ``read_size`` the most bytes one read of the in-memory wire hands out,
    ``variables`` the channel variables set before AGI() ran.
    """

    script: str = "demo"
    args: tuple[str, ...] = ()
    callerid: str = "15550100"
    calleridname: str = "E2E Caller"
    language: str = "en"
    dnid: str = "unknown"
    env: Mapping[str, str] = field(default_factory=dict)
    caller: str | Caller = ""
    hangup_at_command: int | None = None
    sounds: Mapping[str, float | Sound] = field(default_factory=dict)
    missing_sounds: set[str] | frozenset[str] = frozenset()
    prompt_languages: set[str] | frozenset[str] | None = None
    urls: Mapping[str, Served] = field(default_factory=dict)
    media_cache_path: int = 33
    queues: dict[str, str | QueueSetup] = field(default_factory=dict)
    dial: Mapping[str, str] = field(default_factory=dict)
    ring_seconds: float = 3.0
    talk_seconds: float = 5.0
    moh_classes: set[str] | frozenset[str] | None = None
    queue_music: Mapping[str, str] = field(default_factory=dict)
    prefer_channel_class: bool = True
    agisighup: bool = True
    exit_on_hangup: bool = False
    read_size: int = 65536
    variables: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sounds = {
            k: v if isinstance(v, Sound) else Sound(float(v)) for k, v in self.sounds.items()
        }
        self.queues = dict(self.queues)
        for queue, setup in self.queues.items():
            outcome = setup.outcome if isinstance(setup, QueueSetup) else setup
            if outcome not in QUEUE_OUTCOMES:
                raise ValueError(
                    f"queue {queue!r}: unknown outcome {outcome!r}; use one of"
                    f" {', '.join(QUEUE_OUTCOMES)}"
                )
        for target, outcome in self.dial.items():
            if outcome not in DIAL_OUTCOMES:
                raise ValueError(
                    f"dial {target!r}: unknown outcome {outcome!r}; use one of"
                    f" {', '.join(DIAL_OUTCOMES)}"
                )

    def queue(self, name: str) -> QueueSetup:
        """The queue ``name`` (unknown queues time out)."""
        setup = self.queues.get(name, "timeout")
        return setup if isinstance(setup, QueueSetup) else QueueSetup(setup)

    def environment(self, number: int) -> Environment:
        """The env block of call ``number`` (it makes the channel name and uniqueid)."""
        environment = Environment(
            network="yes",
            network_script=self.script,
            request=f"agi://127.0.0.1:4573/{self.script}",
            channel=f"PJSIP/trunk-{number:08x}",
            language=self.language,
            type="PJSIP",
            uniqueid=f"1795515630.{number}",
            version="22.10.1",
            callerid=self.callerid or "unknown",
            calleridname=self.calleridname or "unknown",
            callingpres="0",
            callingani2="0",
            callington="0",
            callingtns="0",
            dnid=self.dnid,
            rdnis="unknown",
            context="callbot-in",
            extension="100",
            priority="2",
            enhanced="0.0",
            accountcode="",
            threadid="140445473199808",
            args=tuple(self.args),
        )
        return dataclasses.replace(environment, **dict(self.env))
