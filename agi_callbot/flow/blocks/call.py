"""The state of one running call, shared by the blocks: variables, path, side effects.

A block reads and writes the call through this object, never through globals, so
thousands of calls run side by side in one event loop. What ends up in the call
record (path of blocks, digits, transfers, messages queued) is collected here as
the blocks run, so a caller hanging up in the middle still leaves a full record.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agi_callbot.agi.env import UNKNOWN, Environment
from agi_callbot.channel import Channel
from agi_callbot.config import Settings
from agi_callbot.flow.model import BUILTIN_VARIABLES, Flow
from agi_callbot.phone import mask_number
from agi_callbot.services import Services

log = logging.getLogger("agi_callbot.flow")

#: the outcomes the dialplan branches on (``CALLBOT_STATUS``)
COMPLETED = "COMPLETED"
TRANSFERRED = "TRANSFERRED"
HANGUP = "HANGUP"
NO_AGENT = "NO_AGENT"
FAILED = "FAILED"

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
#: longest value kept from a caller-controlled field (name, query, args)
MAX_VALUE = 256


@dataclass(frozen=True)
class Next:
    """Go on with this block (``None``: the flow ran out of blocks)."""

    block: str | None


@dataclass(frozen=True)
class End:
    """The call's flow is over. ``hangup`` False = return to the dialplan (``return`` block)."""

    status: str
    result: str = ""
    hangup: bool = True


Outcome = Next | End


@dataclass
class Call:
    """One call through one flow version."""

    channel: Channel
    flow: Flow
    services: Services
    settings: Settings
    variables: dict[str, Any]
    language: str
    path: list[str] = field(default_factory=list)
    digits: list[dict[str, str]] = field(default_factory=list)
    transfers: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0
    #: flows a ``subflow`` block may run, pinned with the main flow when the call started
    subflows: Mapping[str, Flow] = field(default_factory=dict)
    #: the flow (or sub-flow) whose blocks are running, and the block running now
    current_flow: Flow | None = None
    block: str = ""
    #: how many sub-flows deep the running block is
    depth: int = 0
    #: what happened, in order, for transcripts (simulate, flow tests): {"event": kind, …}
    events: list[dict[str, Any]] = field(default_factory=list)
    #: the last runtime surprise (kept for the record even when on_error handled it)
    error: str = ""
    #: a queue or agent answered: the call counts as TRANSFERRED however it ends after
    transferred: bool = False
    #: post-call actions collected on the way (a transfer's ``on_hangup``), with their block
    post_call: list[tuple[str, Any]] = field(default_factory=list)
    #: why ``${caller}`` is empty: ``anonymous caller`` (withheld), ``no number``, or
    #: ``not a valid phone number`` — a different problem, for a different fix
    caller_problem: str = ""
    #: the caller id as Asterisk gave it when it is not a valid number (shown masked)
    caller_given: str = ""

    @property
    def caller_reason(self) -> str:
        """``caller_problem`` as the call record shows it: an invalid number, masked."""
        if self.caller_given and self.caller_problem == "not a valid phone number":
            return f"{self.caller_problem} ({mask_number(self.caller_given)})"
        return self.caller_problem

    @property
    def uniqueid(self) -> str:
        return self.variables.get("uniqueid", "")

    @property
    def flow_name(self) -> str:
        return (self.current_flow or self.flow).name

    def note(self, event: str, **data: Any) -> None:
        """Add an event to the call's transcript (the block it happened in is added)."""
        self.events.append({"event": event, "block": self.block, **data})

    def said(self, text: str) -> None:
        self.note("say", text=text)

    def set(self, name: str, value: Any) -> None:
        """Set a flow variable (built-ins are the engine's: refused with a log line)."""
        if name in BUILTIN_VARIABLES:
            log.warning("flow tried to overwrite built-in variable %s: ignored", name)
            return
        self.variables[name] = clean_text(value) if isinstance(value, str) else value


def clean_text(value: str, limit: int = MAX_VALUE) -> str:
    """Remove control characters (a newline in a caller name must not reach a command or log)."""
    if value.isascii() and value.isprintable():  # the usual value: no control character
        text = value
    else:
        text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in value)
    return " ".join(text.split())[:limit]


def caller_problem(env: Environment, region: str) -> tuple[str, str]:
    """(why the caller has no usable number, the number as given when it is invalid)."""
    from agi_callbot.phone import why_not

    raw = "" if env.caller_number == UNKNOWN else env.caller_number
    problem = why_not(raw, region) or ""
    if problem == "no number":
        problem = "anonymous caller"  # withheld or ``unknown``: the caller sent none
    given = clean_text(raw, 64) if problem == "not a valid phone number" else ""
    return problem, given


def call_variables(
    env: Environment,
    *,
    language: str,
    region: str,
    flow_name: str = "",
    defaults: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The variables every call starts with (docs/flows.md), lowest precedence first.

    The flow's declared ``defaults``, then query string keys, then ``argN`` from
    ``AGI(…,arg1,arg2)``, then the built-ins, which nothing from outside replaces:
    ``caller`` is E.164 or empty (withheld, unknown or unparseable numbers);
    ``caller_name`` loses control characters here, once, when the variable is made.
    """
    from agi_callbot.phone import to_e164

    name = "" if env.calleridname == UNKNOWN else env.calleridname
    dnid = "" if env.dnid == UNKNOWN else env.dnid
    variables: dict[str, Any] = {}
    for key, value in (defaults or {}).items():
        if key not in BUILTIN_VARIABLES:
            variables[key] = clean_text(value) if isinstance(value, str) else value
    for key, value in env.query.items():
        if _NAME.match(key) and key not in BUILTIN_VARIABLES:
            variables[key] = clean_text(value)
    for number, value in enumerate(env.args, start=1):
        variables[f"arg{number}"] = clean_text(value)
    variables.update(
        flow=flow_name,
        caller=to_e164(env.caller_number, region) or "",
        caller_name=clean_text(name),
        dnid=clean_text(dnid, 64),
        uniqueid=clean_text(env.uniqueid, 64),
        channel=clean_text(env.channel),
        language=language,
    )
    return variables
