"""A loaded flow: frozen, validated objects the runner walks. YAML shape below.

One file per flow, ``<flows_dir>/<name>.yaml``; the ``flow:`` key equals ``<name>``::

    flow: soporte                 # = file name (subfolders: "ventas/campana")
    description: "Atención al cliente"       # optional, free text
    language: es                  # default: settings.defaults.language
    voice: {engine: espeak-ng, voice: es}    # handed to prompts.resolve()
    region: ES                    # national numbers → E.164 (default: settings)
    timezone: Europe/Madrid       # default for `hours` blocks (default: settings)
    start: welcome                # default: the first block
    max_steps: 200                # loop bound per call (default: settings.flows.max_steps)
    on_error: agent               # a runtime surprise goes here (default: end the call)
    variables: {customer: ""}     # declared variables with defaults (args override)
    blocks:
      <block name>:               # [A-Za-z_][A-Za-z0-9_-]*
        <kind>: <spec>            # at most one kind key; none (or null) = a "step"
        next: <block>             # where to go after; absent = end of call (default ending)
        actions: [<action>, …]    # run on ENTERING the block, before its main effect
        voice: {…}                # overrides the flow's voice for this block
        description: "…"
    on_hangup: [<action>, …]      # post-call: runs however the call ended

Block kinds (``BLOCK_KINDS``; the runtime dispatches on the spec's class):

- ``say: "text"`` | ``say: {es: "Hola", en: "Hello"}`` → :class:`Say`
- ``play: custom/welcome`` (an Asterisk sound name/path) → :class:`Say` with ``file``
- ``menu: {prompt, options: {"1": block | {goto, actions}}, timeout: 5s, retries: 2,
  no_input, invalid, on_fail, barge_in: true, repeat: "*", terminator: "#",
  inter_digit: 2s}`` → :class:`Menu` (an option without ``goto`` runs its actions and
  replays the menu; multi-digit options wait for more digits or the terminator).
  Quote ``'#'`` and ``'*'`` (an unquoted # starts a YAML comment); ``terminator: false``
  for none; its default is ``#`` unless an option or ``repeat`` uses that key.
- ``collect: {prompt, var: digits, min_digits: 1, max_digits: 20, terminator: "#",
  pattern: "regex", retries: 2, timeout: 6s, no_input, invalid, on_fail}`` + ``next``
- ``transfer: {team: ventas | agent: "PJSIP/1001", music, announce, max_wait: 120s,
  ring: 20s, check_available: true, on_nobody, on_no_answer, on_busy, on_unavailable,
  on_hangup: [actions]}`` (``max_wait``/``music``/``on_nobody`` for teams, ``ring`` for
  agents; ``next`` = queue CONTINUE) → :class:`Transfer`;
  :meth:`Transfer.branch_for` maps QUEUESTATUS/DIALSTATUS to a target
- ``hangup: {message, result}`` | ``hangup: "message"`` | ``hangup: null``
- ``return: {result}`` | ``return: null``: close AGI, the dialplan continues
- ``set: {var: "text ${x}" | 3 | {expr: "tries + 1"}}`` + ``next``
- ``branch: [{if: "expr", goto: block}, …, {else: block}]`` (no match, no else → ``next``)
- ``hours: {timezone, week: {mon-fri: "09:00-14:00, 16:00-19:00", sat: "10:00-13:00",
  sun: closed}, holidays: [2026-12-25, "01-06"], open: block, closed: block, holiday:
  block}`` (days not named are closed; ``24:00`` may end a range; ``holiday`` defaults to
  ``closed``; "MM-DD" repeats every year; evaluation: :mod:`agi_callbot.flow.hours`)
- ``goto: block``
- ``subflow: name`` | ``subflow: {flow: name, vars: {k: v}}``: runs the other flow's
  blocks with the same channel and variables; when it runs out of blocks the call
  continues at this block's ``next`` (a hangup/return inside ends the call as usual)

Actions (``ACTION_KINDS``), each a one-key mapping, optionally with ``when: "expr"``:

- ``sms: {to: "${caller}", from: "+34910000000", text}``
- ``whatsapp: {to: "${caller}", template, language, params: [...]}`` (or ``text`` +
  ``window_open: true`` when the customer wrote in the last 24 h)
- ``email: {to, subject, body, from}``
- ``webhook: {url, method: POST, body: {…}, headers: {…}, save_as: var, timeout: 3s}``
  (with ``save_as`` the call waits up to ``timeout`` for the JSON answer; else outbox)
- ``optin: {channel: whatsapp, number: "${caller}"}``
- ``set: {var: value}``
sms/whatsapp/email take ``fallback: [<action>, …]`` (next channels on a permanent failure).

Strings interpolate ``${var}`` at run time (:func:`agi_callbot.flow.expr.interpolate`).
Variables always set: caller, caller_name, dnid, uniqueid, channel, language, flow,
arg1…argN, query-string keys; plus ``variables:``, ``set`` and ``collect`` targets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from agi_callbot.flow.expr import Expr


#: variables the engine sets on every call (see the module doc): a query string,
#: ``variables:`` or a ``set`` cannot replace them, and lint knows them
BUILTIN_VARIABLES = frozenset(
    {"caller", "caller_name", "dnid", "uniqueid", "channel", "language", "flow"}
)


# --------------------------------------------------------------------------- texts


@dataclass(frozen=True)
class Text:
    """A spoken text: one string in the flow's language, or one per language.

    ``texts`` maps a language tag to the text; ``""`` is "the flow's language".
    """

    texts: Mapping[str, str]

    def get(self, language: str, flow_language: str) -> str:
        """The text for the call's language, else the flow's, else the first one."""
        for key in (language, language.split("-")[0], "", flow_language):
            if key in self.texts:
                return self.texts[key]
        return next(iter(self.texts.values()))

    def language_of(self, language: str, flow_language: str) -> str:
        """The language the text returned by :meth:`get` is written in (for the voice)."""
        for key in (language, language.split("-")[0]):
            if key in self.texts:
                return key
        if "" in self.texts or flow_language in self.texts:
            return flow_language
        return next(iter(self.texts))

    def all(self) -> tuple[str, ...]:
        return tuple(self.texts.values())


#: a block's main text: its prompt id is the block name alone
MAIN_TEXT_KEYS = frozenset({"say", "prompt", "message"})


def prompt_id(block: str, key: str) -> str:
    """The recording name of a block's text: ``welcome``, ``main_menu.no_input``."""
    return block if key in MAIN_TEXT_KEYS else f"{block}.{key}"


@dataclass(frozen=True)
class Prompt:
    """What to play: a text for the prompt service or an Asterisk sound file.

    ``id`` is the recording name an admin may drop in (``welcome``, ``menu.no_input``).
    """

    id: str
    text: Text | None = None
    file: str | None = None

    @classmethod
    def for_key(
        cls, block: str, key: str, text: Text | None = None, file: str | None = None
    ) -> Prompt:
        return cls(prompt_id(block, key), text, file)


@dataclass(frozen=True)
class Condition:
    """A parsed expression (``branch``, ``when``, ``set`` with ``expr``) with its source."""

    source: str
    expr: Expr
    line: int = 0
    column: int = 0


# --------------------------------------------------------------------------- actions


class ActionSpec:
    """Base of action specs; ``kind`` is the YAML key."""

    kind: ClassVar[str]


@dataclass(frozen=True)
class Sms(ActionSpec):
    kind: ClassVar[str] = "sms"
    text: str
    to: str = "${caller}"
    sender: str | None = None  # YAML "from"
    fallback: tuple[Action, ...] = ()


@dataclass(frozen=True)
class WhatsApp(ActionSpec):
    """An approved template, or free ``text`` (only inside the 24 h window: lint checks)."""

    kind: ClassVar[str] = "whatsapp"
    template: str | None
    language: str  # defaults to the flow's language at load
    params: tuple[str, ...] = ()
    to: str = "${caller}"
    fallback: tuple[Action, ...] = ()
    text: str | None = None
    window_open: bool = False


@dataclass(frozen=True)
class Email(ActionSpec):
    kind: ClassVar[str] = "email"
    to: str
    subject: str
    body: str
    sender: str | None = None  # YAML "from"
    fallback: tuple[Action, ...] = ()


@dataclass(frozen=True)
class Webhook(ActionSpec):
    kind: ClassVar[str] = "webhook"
    url: str
    method: str = "POST"
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    save_as: str | None = None
    timeout: float = 3.0


@dataclass(frozen=True)
class OptIn(ActionSpec):
    kind: ClassVar[str] = "optin"
    channel: str  # sms | whatsapp | email
    number: str = "${caller}"


@dataclass(frozen=True)
class SetVars(ActionSpec):
    """``set`` as an action or a block: values are templates (str), literals or conditions."""

    kind: ClassVar[str] = "set"
    values: Mapping[str, str | int | float | bool | Condition]


ACTION_KINDS: dict[str, type[ActionSpec]] = {
    cls.kind: cls for cls in (Sms, WhatsApp, Email, Webhook, OptIn, SetVars)
}
#: action kinds that hand a message to the outbox
MESSAGE_KINDS = frozenset({"sms", "whatsapp", "email", "webhook"})


@dataclass(frozen=True)
class Action:
    kind: str
    spec: ActionSpec
    when: Condition | None = None
    line: int = 0
    column: int = 0


# --------------------------------------------------------------------------- blocks


@dataclass(frozen=True)
class Edge:
    """An outgoing reference of a block: label for graphs/lint, target block name."""

    label: str
    target: str


class BlockSpec:
    """Base of block specs; ``kind`` is the YAML key, ``terminal`` = the call ends there."""

    kind: ClassVar[str]
    terminal: ClassVar[bool] = False
    #: whether the block's ``next`` key is meaningful
    takes_next: ClassVar[bool] = True

    def edges(self) -> tuple[Edge, ...]:
        return ()


@dataclass(frozen=True)
class Step(BlockSpec):
    """A block with no kind key: runs its actions, then ``next``."""

    kind: ClassVar[str] = "step"


@dataclass(frozen=True)
class Say(BlockSpec):
    kind: ClassVar[str] = "say"
    prompt: Prompt


@dataclass(frozen=True)
class Option:
    """A menu choice: go somewhere, run actions, or both (no ``goto``: replay the menu)."""

    digits: str
    goto: str | None = None
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True)
class Menu(BlockSpec):
    kind: ClassVar[str] = "menu"
    takes_next: ClassVar[bool] = False
    prompt: Prompt
    options: Mapping[str, Option]
    timeout: float = 5.0
    retries: int = 2
    no_input: Prompt | None = None
    invalid: Prompt | None = None
    on_fail: str | None = None
    barge_in: bool = True
    repeat: str | None = None
    terminator: str | None = "#"
    inter_digit: float = 2.0

    def edges(self) -> tuple[Edge, ...]:
        out = [Edge(d, o.goto) for d, o in self.options.items() if o.goto]
        if self.on_fail:
            out.append(Edge("on_fail", self.on_fail))
        return tuple(out)


@dataclass(frozen=True)
class Collect(BlockSpec):
    kind: ClassVar[str] = "collect"
    prompt: Prompt
    var: str = "digits"
    min_digits: int = 1
    max_digits: int = 20
    terminator: str | None = "#"
    pattern: str | None = None
    retries: int = 2
    timeout: float = 6.0
    no_input: Prompt | None = None
    invalid: Prompt | None = None
    on_fail: str | None = None

    def edges(self) -> tuple[Edge, ...]:
        return (Edge("on_fail", self.on_fail),) if self.on_fail else ()


#: QUEUESTATUS / DIALSTATUS / "NOBODY" (AMI) → transfer branch keys, first that is set wins
OUTCOME_BRANCHES: dict[str, tuple[str, ...]] = {
    "TIMEOUT": ("on_no_answer",),
    "NOANSWER": ("on_no_answer",),
    "BUSY": ("on_busy", "on_no_answer"),
    "CHANUNAVAIL": ("on_unavailable", "on_no_answer"),
    "CONGESTION": ("on_unavailable", "on_no_answer"),
    "NOBODY": ("on_nobody",),
    "JOINEMPTY": ("on_nobody", "on_no_answer"),
    "LEAVEEMPTY": ("on_nobody", "on_no_answer"),
    "JOINUNAVAIL": ("on_nobody", "on_no_answer"),
    "LEAVEUNAVAIL": ("on_nobody", "on_no_answer"),
    "FULL": ("on_nobody", "on_no_answer"),
    "CONTINUE": ("next",),
}


@dataclass(frozen=True)
class Transfer(BlockSpec):
    """To a team (``Queue``) or an agent (``Dial``); exactly one of ``team``/``agent``."""

    kind: ClassVar[str] = "transfer"
    team: str | None = None
    agent: str | None = None
    music: str | None = None
    announce: Prompt | None = None
    max_wait: float | None = None
    ring: float = 20.0
    check_available: bool = True
    on_nobody: str | None = None
    on_no_answer: str | None = None
    on_busy: str | None = None
    on_unavailable: str | None = None
    on_hangup: tuple[Action, ...] = ()

    def edges(self) -> tuple[Edge, ...]:
        keys = ("on_nobody", "on_no_answer", "on_busy", "on_unavailable")
        return tuple(Edge(k, getattr(self, k)) for k in keys if getattr(self, k))

    def branch_for(self, outcome: str, next_block: str | None = None) -> str | None:
        """The block to go to after an unanswered transfer (None: no branch for it)."""
        for key in OUTCOME_BRANCHES.get(outcome.upper(), ("on_no_answer",)):
            target = next_block if key == "next" else getattr(self, key)
            if target:
                return target
        return None


@dataclass(frozen=True)
class Hangup(BlockSpec):
    kind: ClassVar[str] = "hangup"
    terminal: ClassVar[bool] = True
    takes_next: ClassVar[bool] = False
    message: Prompt | None = None
    result: str | None = None


@dataclass(frozen=True)
class Return(BlockSpec):
    kind: ClassVar[str] = "return"
    terminal: ClassVar[bool] = True
    takes_next: ClassVar[bool] = False
    result: str | None = None


@dataclass(frozen=True)
class SetBlock(BlockSpec):
    kind: ClassVar[str] = "set"
    values: SetVars


@dataclass(frozen=True)
class Case:
    condition: Condition
    goto: str


@dataclass(frozen=True)
class Branch(BlockSpec):
    kind: ClassVar[str] = "branch"
    cases: tuple[Case, ...]
    default: str | None = None  # the `else` entry; None → the block's next

    def edges(self) -> tuple[Edge, ...]:
        out = [Edge(c.condition.source, c.goto) for c in self.cases]
        if self.default:
            out.append(Edge("else", self.default))
        return tuple(out)


#: one day's opening ranges, [start, end) in local wall-clock time; end may be 24:00 (None)
Ranges = tuple[tuple[time, time | None], ...]


@dataclass(frozen=True)
class Hours(BlockSpec):
    kind: ClassVar[str] = "hours"
    takes_next: ClassVar[bool] = False
    timezone: str
    week: tuple[Ranges, ...]  # 7 entries, Monday first
    open: str
    closed: str
    holiday: str | None = None  # None → closed
    holidays: frozenset[date] = frozenset()
    yearly: frozenset[tuple[int, int]] = frozenset()  # (month, day) every year

    def edges(self) -> tuple[Edge, ...]:
        out = [Edge("open", self.open), Edge("closed", self.closed)]
        if self.holiday:
            out.append(Edge("holiday", self.holiday))
        return tuple(out)


@dataclass(frozen=True)
class Goto(BlockSpec):
    kind: ClassVar[str] = "goto"
    takes_next: ClassVar[bool] = False
    target: str

    def edges(self) -> tuple[Edge, ...]:
        return (Edge("goto", self.target),)


@dataclass(frozen=True)
class Subflow(BlockSpec):
    """Run flow ``flow`` (checked in the library at load); back at the block's ``next``."""

    kind: ClassVar[str] = "subflow"
    flow: str
    vars: Mapping[str, Any] = field(default_factory=dict)  # like `set` values


BLOCK_KINDS: dict[str, type[BlockSpec]] = {
    cls.kind: cls
    for cls in (
        Say,
        Menu,
        Collect,
        Transfer,
        Hangup,
        Return,
        SetBlock,
        Branch,
        Hours,
        Goto,
        Subflow,
    )
}
#: YAML keys that select a kind without being its class's kind name
KIND_ALIASES: dict[str, str] = {"play": "say"}


@dataclass(frozen=True)
class Block:
    name: str
    kind: str
    spec: BlockSpec
    next: str | None = None
    actions: tuple[Action, ...] = ()
    voice: Mapping[str, Any] | None = None
    description: str = ""
    line: int = 0
    column: int = 0

    def edges(self) -> tuple[Edge, ...]:
        """Every block this one can lead to, ``next`` last."""
        out = self.spec.edges()
        return (*out, Edge("next", self.next)) if self.next else out


@dataclass(frozen=True)
class Flow:
    """One validated flow file. ``version`` is a content hash: the call pins this object."""

    name: str
    version: str
    path: Path
    language: str
    start: str
    blocks: Mapping[str, Block]
    voice: Mapping[str, Any] = field(default_factory=dict)
    region: str = "ES"  # from settings.defaults when the file says nothing
    timezone: str = "Europe/Madrid"
    on_hangup: tuple[Action, ...] = ()
    on_error: str | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    max_steps: int = 500
    description: str = ""
    #: whether the file says ``start:`` (without it, calls begin at the first block)
    start_given: bool = True

    def block(self, name: str) -> Block:
        return self.blocks[name]

    def subflows(self) -> tuple[str, ...]:
        """Names of the flows this one calls, in block order, without repeats."""
        names = [b.spec.flow for b in self.blocks.values() if isinstance(b.spec, Subflow)]
        return tuple(dict.fromkeys(names))
