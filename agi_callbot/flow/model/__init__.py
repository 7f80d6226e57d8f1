"""A loaded flow: frozen, validated objects the runner walks. YAML shape below.

The model in four parts: :mod:`.texts` (texts, prompts, conditions), :mod:`.actions`,
:mod:`.blocks` (one spec per kind, :class:`Block`) and :mod:`.flow` (:class:`Flow`).
This package presents them all: ``from agi_callbot.flow import model as m``.

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

from agi_callbot.flow.model.actions import (
    ACTION_KINDS,
    MESSAGE_KINDS,
    Action,
    ActionSpec,
    Email,
    OptIn,
    SetVars,
    Sms,
    Webhook,
    WhatsApp,
)
from agi_callbot.flow.model.blocks import (
    BLOCK_KINDS,
    KIND_ALIASES,
    OUTCOME_BRANCHES,
    Block,
    BlockSpec,
    Branch,
    Case,
    Collect,
    Edge,
    Goto,
    Hangup,
    Hours,
    Menu,
    Option,
    Ranges,
    Return,
    Say,
    SetBlock,
    Step,
    Subflow,
    Transfer,
)
from agi_callbot.flow.model.flow import BUILTIN_VARIABLES, Flow
from agi_callbot.flow.model.texts import MAIN_TEXT_KEYS, Condition, Prompt, Text, prompt_id

__all__ = [
    "ACTION_KINDS",
    "BLOCK_KINDS",
    "BUILTIN_VARIABLES",
    "KIND_ALIASES",
    "MAIN_TEXT_KEYS",
    "MESSAGE_KINDS",
    "OUTCOME_BRANCHES",
    "Action",
    "ActionSpec",
    "Block",
    "BlockSpec",
    "Branch",
    "Case",
    "Collect",
    "Condition",
    "Edge",
    "Email",
    "Flow",
    "Goto",
    "Hangup",
    "Hours",
    "Menu",
    "OptIn",
    "Option",
    "Prompt",
    "Ranges",
    "Return",
    "Say",
    "SetBlock",
    "SetVars",
    "Sms",
    "Step",
    "Subflow",
    "Text",
    "Transfer",
    "Webhook",
    "WhatsApp",
    "prompt_id",
]
