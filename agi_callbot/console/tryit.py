"""Try it: a simulated call to a flow (saved or draft) on the in-memory Asterisk.

The real runner, the real prompt service and a throw-away outbox run the call
(:func:`agi_callbot.sim.simulate.simulate`); nothing is sent. The tester drives it from
the page: the keys pressed so far are the caller's script, and the call runs again from
the start with every new key (the engine is deterministic, the prompt cache warm, a run
takes milliseconds). When the flow waits for a key the script does not have yet, the
call stops there — the transcript ends with "waiting for the caller" and the page
offers the dial pad; a transfer's outcome (answered, no answer, busy, nobody available)
is the tester's choice too. The prompts are served to the browser as WAV from the
prompt cache. A tried call can be kept as a case of ``<flow>.test.yaml``.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import struct
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from agi_callbot.config import Settings
from agi_callbot.console.state import CONSOLE, FLOW_API
from agi_callbot.console.store import Invalid, StoreError
from agi_callbot.errors import FlowError
from agi_callbot.flow import model as m
from agi_callbot.flow.loader import FlowLibrary
from agi_callbot.sim.caller import Caller, CallerEvent
from agi_callbot.sim.simulate import Scenario, Transcript, simulate

#: what a tester may choose for a team's queue, and for an agent's Dial
TEAM_OUTCOMES = ("answer", "timeout", "nobody", "hangup")
AGENT_OUTCOMES = ("ANSWER", "NOANSWER", "BUSY", "CHANUNAVAIL", "HANGUP")
TRY_TIMEOUT_S = 20.0
#: what the worker may take beyond a call's own limit before it is stopped
WORKER_MARGIN_S = 10.0
MAX_KEYS = 200
_PLAY = re.compile(r'^(?:STREAM FILE|GET DATA|CONTROL STREAM FILE|EXEC Playback) "?([^" ]+)')
_KEY = re.compile(r"[0-9A-Za-z_-]{8,128}")
_SCRIPT_TOKEN = re.compile(r"^(?:[0-9*#A-D]|wait:\d{1,3}(?:\.\d+)?|hangup)$")


class WaitingCaller(Caller):
    """A scripted caller who, once the script is used up, leaves at the next point where
    the flow listens for a key: the call stops where the tester has to act."""

    def __init__(self, script: str = "") -> None:
        super().__init__(script)
        self.waiting = False

    def next_event(self, now: float, listening: bool, digits: bool = True) -> CallerEvent | None:
        event = super().next_event(now, listening, digits)
        if event is None and not self._tokens and not self._timed and listening and digits:
            self.waiting = True
            return CallerEvent(now)
        return event

    def copy(self) -> WaitingCaller:
        twin = copy.copy(self)  # the in-memory Asterisk rewinds a command with a copy
        twin._tokens, twin._timed = deque(self._tokens), deque(self._timed)
        return twin


@dataclass(frozen=True)
class Tester:
    """What the tester did: who calls, the keys so far, each transfer's outcome."""

    caller: str = ""
    caller_name: str = ""
    keys: tuple[str, ...] = ()
    teams: dict[str, str] = field(default_factory=dict)
    agents: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_request(cls, data: dict[str, Any]) -> Tester:
        keys = data.get("keys") or []
        if not isinstance(keys, list):
            raise TryError("'keys' must be a list")
        return cls(
            str(data.get("caller", ""))[:64],
            str(data.get("caller_name", ""))[:80],
            tuple(str(k) for k in keys),
            strings(data.get("teams")),
            strings(data.get("agents")),
        )


class TryError(FlowError):
    """A Try it request that cannot run (bad keys, a draft with errors)."""


def script_of(keys: list[str]) -> str:
    if len(keys) > MAX_KEYS:
        raise TryError(f"at most {MAX_KEYS} keys in one call")
    for key in keys:
        if not isinstance(key, str) or not _SCRIPT_TOKEN.match(key):
            raise TryError(f"not a key, a wait or hangup: {key!r}")
    return ",".join(keys)


def subflows_of(flow: m.Flow, library: FlowLibrary) -> dict[str, m.Flow]:
    """Every flow ``flow`` reaches through sub-flows, as saved (the draft is the top)."""
    found: dict[str, m.Flow] = {}
    pending = list(flow.subflows())
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found[name] = flow if name == flow.name else library.get(name)
        pending.extend(found[name].subflows())
    return found


def outcomes_of(flow: m.Flow) -> dict[str, list[str]]:
    """The teams and agents the flow transfers to (the tester picks their outcome)."""
    teams, agents = [], []
    for block in flow.blocks.values():
        if isinstance(block.spec, m.Transfer):
            if block.spec.team and block.spec.team not in teams:
                teams.append(block.spec.team)
            if block.spec.agent and block.spec.agent not in agents:
                agents.append(block.spec.agent)
    return {"teams": teams, "agents": agents}


async def run(
    flow: m.Flow, library: FlowLibrary, settings: Settings, tester: Tester
) -> dict[str, Any]:
    """One run of the call with the keys pressed so far; the transcript for the page."""
    keys, teams, agents = list(tester.keys), tester.teams, tester.agents
    script = script_of(keys)
    queues: dict[str, str] = {}
    available: dict[str, int] = {}
    for team, outcome in teams.items():
        if outcome not in TEAM_OUTCOMES:
            raise TryError(f"team {team!r}: unknown outcome {outcome!r}")
        if outcome == "nobody":
            available[team] = -1
        else:
            queues[team] = outcome
            available[team] = 1
    dial: dict[str, str] = {}
    for agent, outcome in agents.items():
        if outcome not in AGENT_OUTCOMES:
            raise TryError(f"agent {agent!r}: unknown outcome {outcome!r}")
        dial[agent] = outcome
    subflows = subflows_of(flow, library)
    waiting = WaitingCaller(script)
    scenario = Scenario(
        caller=tester.caller,
        caller_name=tester.caller_name,
        dtmf=waiting,  # type: ignore[arg-type]  # the in-memory Asterisk takes a Caller too
        queues=queues,
        dial=dial,
        teams=available,
    )
    # this runs in the console's worker process (agi_callbot.console.work), never in
    # the node's: the simulated call's work does not hold up the real calls
    transcript = await asyncio.wait_for(
        simulate(flow, scenario, settings, subflows=subflows), TRY_TIMEOUT_S
    )
    return describe(transcript, waiting, settings, keys)


def describe(
    transcript: Transcript, tester: WaitingCaller, settings: Settings, keys: list[str]
) -> dict[str, Any]:
    prompts = [_prompt_url(command, settings) for command in transcript.commands]
    audio = [url for url in prompts if url]
    events: list[dict[str, Any]] = []
    said = 0
    for event in transcript.result.events:
        item = {k: v for k, v in event.items() if k != "payload"}
        if event["event"] == "message":
            item["payload"] = event.get("payload")
        if event["event"] == "say":
            item["audio"] = audio[said] if said < len(audio) else None
            said += 1
        events.append(item)
    waiting = tester.waiting
    record = transcript.result.record
    return {
        "status": "WAITING" if waiting else transcript.status,
        "final_status": transcript.status,
        "waiting": waiting,
        "path": list(record.get("path", [])),
        "events": events,
        "commands": transcript.commands,
        "messages": _clean(transcript.messages),
        "transfers": _clean(record.get("transfers", [])),
        "audio": audio,
        "keys": keys,
        "error": transcript.result.error or "",
    }


def _clean(items: list[Any]) -> list[Any]:
    return [
        {
            k: v
            for k, v in item.items()
            if isinstance(v, str | int | float | bool | None | list | dict)
        }
        if isinstance(item, dict)
        else item
        for item in items
    ]


def _prompt_url(command: str, settings: Settings) -> str | None:
    found = _PLAY.match(command)
    if not found:
        return None
    target = Path(found.group(1))
    try:
        if target.parent.resolve() != Path(settings.prompts_dir).resolve():
            return None
    except OSError:
        return None
    return f"/api/prompts/{target.name}.wav" if _KEY.fullmatch(target.name) else None


# --------------------------------------------------------------------------- audio


def wav(settings: Settings, key: str) -> bytes | None:
    """A cached prompt as a WAV the browser plays (sln16/sln are raw 16-bit PCM)."""
    if not _KEY.fullmatch(key):
        return None
    root = Path(settings.prompts_dir)
    for ext, rate in (("sln16", 16000), ("sln", 8000)):
        path = root / f"{key}.{ext}"
        if path.is_file():
            pcm = path.read_bytes()
            return _wav_header(len(pcm), rate) + pcm
    path = root / f"{key}.wav"
    return path.read_bytes() if path.is_file() else None


def _wav_header(size: int, rate: int) -> bytes:
    return (
        b"RIFF"
        + struct.pack("<I", 36 + size)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", size)
    )


# --------------------------------------------------------------------------- routes


def routes(console: Any) -> list[web.RouteDef]:
    api = console.guard.api
    return [
        web.post(f"{FLOW_API}/try", api(try_call)),
        web.get("/api/prompts/{key}.wav", api(prompt_audio)),
    ]


def draft_of(request: web.Request, data: dict[str, Any]) -> str | None:
    """The draft a Try it request carries in ``yaml`` (None: the saved flow)."""
    from agi_callbot.console.api import text_of

    if data.get("yaml") is None:
        return None
    return text_of(data, request.app[CONSOLE])


def strings(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


async def try_call(request: web.Request) -> web.Response:
    """``{"yaml"?, "caller", "caller_name", "keys": [...], "teams": {}, "agents": {}}`` →
    the call's transcript so far, the prompts' audio URLs and the outcomes to choose."""
    from agi_callbot.console.api import body, error, name_of

    console = request.app[CONSOLE]
    name = name_of(request)
    data = await body(request)
    text = draft_of(request, data)
    try:
        result = await console.work(
            "try_call", name, text, data, timeout=TRY_TIMEOUT_S + WORKER_MARGIN_S
        )
    except Invalid as exc:
        return error("the flow has errors: fix them to try it", 422, problems=exc.problems)
    except TryError as exc:
        return error(exc.message, 400)
    except FlowError as exc:
        return error(str(exc), 422)
    except TimeoutError:
        return error(f"the call did not end within {TRY_TIMEOUT_S:.0f} s", 504)
    except StoreError as exc:
        return error(str(exc), exc.status)
    return web.json_response(result, dumps=lambda o: json.dumps(o, default=str))


async def prompt_audio(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    audio = await asyncio.to_thread(wav, console.settings, request.match_info["key"])
    if audio is None:
        return web.json_response({"error": "no such prompt in the cache"}, status=404)
    return web.Response(
        body=audio,
        content_type="audio/wav",
        headers={"Cache-Control": "private, max-age=86400"},
    )
