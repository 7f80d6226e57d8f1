"""Flow files → :class:`~agi_callbot.flow.model.Flow`, with ``file:line:col`` errors.

Every block kind and action kind has one parser here, registered under its YAML key
(``@block("menu")``, ``@action("sms")``), next to its class in ``model``. Parsers read
composed YAML nodes through a :class:`~agi_callbot.flow.reader.Reader`, so an error
names the exact key or value; all errors of a file are reported together
(:class:`~agi_callbot.flow.reader.InvalidFlow`). References (``next``, ``goto``,
``on_fail``, options, subflows) are checked once every block is known.

:class:`FlowLibrary` maps flow names to files per DESIGN section 10 and hot-reloads.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from yaml.nodes import MappingNode, Node, ScalarNode

from agi_callbot.config import Defaults
from agi_callbot.errors import FlowError
from agi_callbot.flow import model as m
from agi_callbot.flow.expr import ExprError, parse, parse_template
from agi_callbot.flow.lint import lint
from agi_callbot.flow.reader import Reader, TooManyNodes, compose, did_you_mean

log = logging.getLogger("agi_callbot.flow")

BLOCK_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
VAR_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
FLOW_NAME = r"[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*"
LANGUAGE = r"[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*"
KEYS = "0123456789*#"
DIGITS = r"[0-9*#]{1,8}"
SOUND = r"[^\s,|]+"
_LANGUAGE_HINT = " (a language tag such as es, en or en-GB)"


@dataclass
class Context:
    """What a parser needs besides the node: the reader, the block, flow-wide defaults,
    and the references to check once every block is known."""

    reader: Reader
    language: str
    timezone: str
    block: str = ""
    refs: list[tuple[str, Node, str]] = field(default_factory=list)
    subflows: list[tuple[str, Node]] = field(default_factory=list)

    def target(self, node: Node, what: str) -> str | None:
        """A block name, checked later (the block may come further down the file)."""
        name = self.reader.string(node, what)
        if name is not None:
            self.refs.append((name, node, what))
        return name


BlockParser = Callable[[Node, Context], m.BlockSpec | None]
ActionParser = Callable[[Node, Context], m.ActionSpec | None]
BLOCK_PARSERS: dict[str, BlockParser] = {}
ACTION_PARSERS: dict[str, ActionParser] = {}


def block(key: str) -> Callable[[BlockParser], BlockParser]:
    def register(parser: BlockParser) -> BlockParser:
        BLOCK_PARSERS[key] = parser
        return parser

    return register


def action(key: str) -> Callable[[ActionParser], ActionParser]:
    def register(parser: ActionParser) -> ActionParser:
        ACTION_PARSERS[key] = parser
        return parser

    return register


# --------------------------------------------------------------------------- shared values


def text(node: Node, ctx: Context, what: str) -> m.Text | None:
    """A spoken text: a string, or ``{language: string}``."""
    r = ctx.reader
    if isinstance(node, MappingNode):
        entries = r.mapping(node, what)
        if entries is None:
            return None
        if not entries:
            r.error(node, f"{what} has no text")
            return None
        texts: dict[str, str] = {}
        for language, (key_node, value_node) in entries.items():
            if not re.fullmatch(LANGUAGE, language):
                r.error(key_node, f"{what}: {language!r} is not a language tag{_LANGUAGE_HINT}")
                continue
            value = r.template(value_node, f"{what} [{language}]")
            if value is not None:
                texts[language] = value
        return m.Text(texts) if texts else None
    value = r.template(node, what)
    return m.Text({"": value}) if value is not None else None


def prompt(node: Node, ctx: Context, key: str) -> m.Prompt | None:
    spoken = text(node, ctx, key)
    return m.Prompt.for_key(ctx.block, key, spoken) if spoken else None


def condition(node: Node, ctx: Context, what: str) -> m.Condition | None:
    r = ctx.reader
    source = r.string(node, what)
    if source is None:
        return None
    try:
        expr = parse(source)
    except ExprError as exc:
        r.error(node, f"{what}: {exc.message}", offset=r.offset(node, exc.column))
        return None
    return m.Condition(source, expr, node.start_mark.line + 1, node.start_mark.column + 1)


def key_digit(node: Node, ctx: Context, what: str) -> tuple[bool, str | None]:
    """A single phone key, or ``false`` for none: (valid, key)."""
    r = ctx.reader
    if isinstance(node, ScalarNode) and node.tag.endswith(":null"):
        r.error(node, f"{what} is empty: quote it ({what}: '#'); an unquoted # starts a comment")
        return False, None
    if isinstance(node, ScalarNode) and node.tag.endswith(":bool") and r.scalar(node) is False:
        return True, None
    value = r.string(node, what)
    if value is None:
        return False, None
    if len(value) != 1 or value not in KEYS:
        r.error(node, f"{what} must be one key of 0-9, * or #, not {value!r}")
        return False, None
    return True, value


def values(node: Node, ctx: Context, what: str) -> dict[str, Any]:
    """``set`` values: templates, numbers, booleans or ``{expr: …}``."""
    r = ctx.reader
    out: dict[str, Any] = {}
    for name, (key_node, value_node) in (r.mapping(node, what) or {}).items():
        if not re.fullmatch(VAR_NAME, name):
            r.error(key_node, f"{what}: {name!r} is not a variable name (letters, digits, _)")
            continue
        if isinstance(value_node, MappingNode):
            entries = r.mapping(value_node, f"{what} {name}", ("expr",), ("expr",))
            if entries and "expr" in entries:
                cond = condition(entries["expr"][1], ctx, f"{what} {name}")
                if cond is not None:
                    out[name] = cond
            continue
        if not isinstance(value_node, ScalarNode) or value_node.tag.endswith(":null"):
            r.error(value_node, f"{what} {name} needs a value (text, number, true/false)")
            continue
        value = r.scalar(value_node)
        if isinstance(value, str):
            value = r.template(value_node, f"{what} {name}", allow_empty=True)
        elif not isinstance(value, int | float | bool):
            r.error(value_node, f"{what} {name}: {value_node.value!r} is not a text or number")
            continue
        if value is not None:
            out[name] = value
    return out


def actions(node: Node, ctx: Context, what: str, only: frozenset[str] | None = None):
    """A list of actions, each ``{kind: spec}`` plus an optional ``when``."""
    r = ctx.reader
    out: list[m.Action] = []
    for item in r.sequence(node, what) or []:
        allowed = {*(only or ACTION_PARSERS), "when"}
        entries = r.mapping(item, f"an action in {what}")
        if entries is None:
            continue
        named = [k for k in entries if k != "when"]
        for key in named:
            if key not in allowed:
                r.error(entries[key][0], f"unknown action {key!r}{did_you_mean(key, allowed)}")
        kinds = [k for k in named if k in allowed]
        if not named:
            choices = ", ".join(sorted(allowed - {"when"}))
            r.error(item, f"an action needs one of: {choices}")
        elif len(kinds) > 1:
            r.error(
                entries[kinds[1]][0],
                f"an action has one kind, found {kinds[0]!r} and {kinds[1]!r}: write two actions",
            )
        if len(kinds) != 1:
            continue
        kind = kinds[0]
        spec = ACTION_PARSERS[kind](entries[kind][1], ctx)
        when = condition(entries["when"][1], ctx, "when") if "when" in entries else None
        if spec is not None:
            line, column = item.start_mark.line + 1, item.start_mark.column + 1
            out.append(m.Action(kind, spec, when, line, column))
    return tuple(out)


# --------------------------------------------------------------------------- blocks


@block("say")
def parse_say(node: Node, ctx: Context) -> m.BlockSpec | None:
    spoken = prompt(node, ctx, "say")
    return m.Say(spoken) if spoken else None


@block("play")
def parse_play(node: Node, ctx: Context) -> m.BlockSpec | None:
    hint = " (an Asterisk sound name such as custom/welcome, without extension)"
    name = ctx.reader.string(node, "play", pattern=SOUND, hint=hint)
    if name is None:
        return None
    if ".." in name.split("/"):
        ctx.reader.error(node, "play: '..' is not allowed in a sound name")
        return None
    return m.Say(m.Prompt.for_key(ctx.block, "say", file=name))


_MENU_KEYS = (
    "prompt", "options", "timeout", "retries", "no_input", "invalid", "on_fail",
    "barge_in", "repeat", "terminator", "inter_digit",
)  # fmt: skip


@block("menu")
def parse_menu(node: Node, ctx: Context) -> m.BlockSpec | None:
    r = ctx.reader
    e = r.mapping(node, "menu", _MENU_KEYS, ("prompt", "options"))
    if e is None or "prompt" not in e or "options" not in e:
        return None
    options = menu_options(e["options"][1], ctx)
    kwargs: dict[str, Any] = {}
    common_retry_keys(e, ctx, kwargs, timeout=60.0)
    if "inter_digit" in e:
        put(kwargs, "inter_digit", r.duration(e["inter_digit"][1], "inter_digit", 0, 30))
    if "barge_in" in e:
        put(kwargs, "barge_in", r.boolean(e["barge_in"][1], "barge_in"))
    keys_used = {char for digits in options for char in digits}
    for key in ("repeat", "terminator"):
        if key in e:
            ok, digit = key_digit(e[key][1], ctx, key)
            if ok and digit and digit in keys_used:
                r.error(e[key][1], f"{key} {digit!r} is also used by an option")
            elif ok:
                kwargs[key] = digit
    if "terminator" not in e:
        # "#" as an option or as the repeat key cannot also end the input
        kwargs["terminator"] = None if "#" in keys_used or kwargs.get("repeat") == "#" else "#"
    if kwargs.get("repeat") and kwargs.get("repeat") == kwargs.get("terminator"):
        r.error(e["repeat"][1], "repeat and terminator are the same key")
    main = prompt(e["prompt"][1], ctx, "prompt")
    return m.Menu(main, options, **kwargs) if main else None


def menu_options(node: Node, ctx: Context) -> dict[str, m.Option]:
    r = ctx.reader
    entries = r.mapping(node, "options")
    if entries is None:
        return {}
    if not entries:
        r.error(node, "options is empty: a menu needs at least one option")
    out: dict[str, m.Option] = {}
    for digits, (key_node, value_node) in entries.items():
        if not re.fullmatch(DIGITS, digits):
            r.error(key_node, f"option {digits!r} is not phone keys (0-9, *, #; quote '*' and '#')")
            continue
        what = f"option {digits!r}"
        if isinstance(value_node, MappingNode):
            o = r.mapping(value_node, what, ("goto", "actions"))
            if o is None:
                continue
            if not o:
                r.error(value_node, f"{what} needs goto, actions or both")
                continue
            goto = ctx.target(o["goto"][1], f"{what} goto") if "goto" in o else None
            acts = actions(o["actions"][1], ctx, f"{what} actions") if "actions" in o else ()
            out[digits] = m.Option(digits, goto, acts)
        else:
            goto = ctx.target(value_node, what)
            if goto is not None:
                out[digits] = m.Option(digits, goto)
    return out


def common_retry_keys(
    e: dict[str, tuple[ScalarNode, Node]], ctx: Context, kwargs: dict[str, Any], timeout: float
) -> None:
    """Keys menus and collects share: timeout, retries, no_input, invalid, on_fail."""
    r = ctx.reader
    if "timeout" in e:
        put(kwargs, "timeout", r.duration(e["timeout"][1], "timeout", 0, timeout))
    if "retries" in e:
        put(kwargs, "retries", r.integer(e["retries"][1], "retries", 0, 10))
    for key in ("no_input", "invalid"):
        if key in e:
            put(kwargs, key, prompt(e[key][1], ctx, key))
    if "on_fail" in e:
        put(kwargs, "on_fail", ctx.target(e["on_fail"][1], "on_fail"))


def put(kwargs: dict[str, Any], key: str, value: Any) -> None:
    """Keep a parsed value; a value that failed (None, error recorded) keeps the default."""
    if value is not None:
        kwargs[key] = value


_COLLECT_KEYS = (
    "prompt", "var", "min_digits", "max_digits", "terminator", "pattern", "retries",
    "timeout", "no_input", "invalid", "on_fail",
)  # fmt: skip


@block("collect")
def parse_collect(node: Node, ctx: Context) -> m.BlockSpec | None:
    r = ctx.reader
    e = r.mapping(node, "collect", _COLLECT_KEYS, ("prompt",))
    if e is None or "prompt" not in e:
        return None
    kwargs: dict[str, Any] = {}
    common_retry_keys(e, ctx, kwargs, timeout=120.0)
    if "var" in e:
        hint = " (letters, digits, _)"
        put(kwargs, "var", r.string(e["var"][1], "var", pattern=VAR_NAME, hint=hint))
    for key in ("min_digits", "max_digits"):
        if key in e:
            put(kwargs, key, r.integer(e[key][1], key, 1, 64))
    low, high = kwargs.get("min_digits", 1), kwargs.get("max_digits", 20)
    if low > high:
        where = e["min_digits"][1] if "min_digits" in e else e["max_digits"][1]
        r.error(where, f"min_digits {low} is more than max_digits {high}")
    if "terminator" in e:
        ok, digit = key_digit(e["terminator"][1], ctx, "terminator")
        if ok:
            kwargs["terminator"] = digit
    if "pattern" in e:
        put(kwargs, "pattern", regex(e["pattern"][1], ctx))
    main = prompt(e["prompt"][1], ctx, "prompt")
    return m.Collect(main, **kwargs) if main else None


def regex(node: Node, ctx: Context) -> str | None:
    r = ctx.reader
    source = r.string(node, "pattern")
    if source is None:
        return None
    try:
        re.compile(source)
    except re.error as exc:
        r.error(node, f"pattern: {exc.msg}", offset=r.offset(node, (exc.pos or 0) + 1))
        return None
    return source


_TRANSFER_KEYS = (
    "team", "agent", "music", "announce", "max_wait", "ring", "check_available",
    "on_nobody", "on_no_answer", "on_busy", "on_unavailable", "on_hangup",
)  # fmt: skip
QUEUE_NAME = r"[A-Za-z0-9_-]+"
DIAL_STRING = r"[A-Za-z0-9_]+/[^\s,|&()]+"


@block("transfer")
def parse_transfer(node: Node, ctx: Context) -> m.BlockSpec | None:
    r = ctx.reader
    e = r.mapping(node, "transfer", _TRANSFER_KEYS)
    if e is None:
        return None
    kwargs: dict[str, Any] = {}
    if ("team" in e) == ("agent" in e):
        r.error(node, "transfer needs exactly one of team (a queue) or agent (a dial string)")
        return None
    if "team" in e:
        hint = " (the Asterisk queue's name: letters, digits, _ and -)"
        put(kwargs, "team", r.string(e["team"][1], "team", pattern=QUEUE_NAME, hint=hint))
        if "max_wait" in e:
            put(kwargs, "max_wait", r.duration(e["max_wait"][1], "max_wait", 0, 4 * 3600))
        if "ring" in e:
            r.error(e["ring"][0], "ring is for agent transfers; a team waits up to max_wait")
    else:
        hint = " (a dial string such as PJSIP/1001)"
        put(kwargs, "agent", r.template(e["agent"][1], "agent"))
        agent = kwargs.get("agent", "")
        if agent and "${" not in agent and not re.fullmatch(DIAL_STRING, agent):
            r.error(e["agent"][1], f"agent {kwargs['agent']!r} is not valid{hint}")
        if "ring" in e:
            put(kwargs, "ring", r.duration(e["ring"][1], "ring", 0, 600))
        for key in ("max_wait", "on_nobody", "music"):
            if key in e:
                r.error(e[key][0], f"{key} is for team transfers (queues)")
    if "music" in e and "team" in e:
        hint = " (a music-on-hold class: letters, digits, _ and -)"
        put(kwargs, "music", r.string(e["music"][1], "music", pattern=QUEUE_NAME, hint=hint))
    if "announce" in e:
        put(kwargs, "announce", prompt(e["announce"][1], ctx, "announce"))
    if "check_available" in e:
        put(kwargs, "check_available", r.boolean(e["check_available"][1], "check_available"))
    for key in ("on_nobody", "on_no_answer", "on_busy", "on_unavailable"):
        if key in e and (key != "on_nobody" or "team" in e):
            put(kwargs, key, ctx.target(e[key][1], key))
    if "on_hangup" in e:
        kwargs["on_hangup"] = actions(e["on_hangup"][1], ctx, "transfer on_hangup")
    return m.Transfer(**kwargs)


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag.endswith(":null")


@block("hangup")
def parse_hangup(node: Node, ctx: Context) -> m.BlockSpec | None:
    if _is_null(node):
        return m.Hangup()
    if isinstance(node, MappingNode) and {"message", "result"} & {
        k.value for k, _ in node.value if isinstance(k, ScalarNode)
    }:
        e = ctx.reader.mapping(node, "hangup", ("message", "result"))
        if e is None:
            return None
        message = prompt(e["message"][1], ctx, "message") if "message" in e else None
        result = ctx.reader.template(e["result"][1], "result") if "result" in e else None
        return m.Hangup(message, result)
    message = prompt(node, ctx, "message")
    return m.Hangup(message) if message else None


@block("return")
def parse_return(node: Node, ctx: Context) -> m.BlockSpec | None:
    if _is_null(node):
        return m.Return()
    e = ctx.reader.mapping(node, "return", ("result",))
    if e is None:
        return None
    return m.Return(ctx.reader.template(e["result"][1], "result") if "result" in e else None)


@block("set")
def parse_set(node: Node, ctx: Context) -> m.BlockSpec | None:
    return m.SetBlock(m.SetVars(values(node, ctx, "set")))


@block("branch")
def parse_branch(node: Node, ctx: Context) -> m.BlockSpec | None:
    r = ctx.reader
    items = r.sequence(node, "branch")
    if items is None:
        return None
    cases: list[m.Case] = []
    default: str | None = None
    for index, item in enumerate(items):
        e = r.mapping(item, "a branch case", ("if", "goto", "else"))
        if e is None:
            continue
        if "else" in e:
            if len(e) > 1 or index != len(items) - 1:
                r.error(e["else"][0], "else stands alone, as the last entry of a branch")
            default = ctx.target(e["else"][1], "else")
            continue
        if "if" not in e or "goto" not in e:
            r.error(item, "a branch case needs if and goto (or else alone, last)")
            continue
        cond = condition(e["if"][1], ctx, "if")
        goto = ctx.target(e["goto"][1], "goto")
        if cond and goto:
            cases.append(m.Case(cond, goto))
    if not cases and default is None:
        r.error(node, "branch needs at least one case")
        return None
    return m.Branch(tuple(cases), default)


@block("goto")
def parse_goto(node: Node, ctx: Context) -> m.BlockSpec | None:
    target = ctx.target(node, "goto")
    return m.Goto(target) if target else None


@block("subflow")
def parse_subflow(node: Node, ctx: Context) -> m.BlockSpec | None:
    r = ctx.reader
    hint = " (a flow name: letters, digits, _, - and / for subfolders)"
    if isinstance(node, MappingNode):
        e = r.mapping(node, "subflow", ("flow", "vars"), ("flow",))
        if e is None or "flow" not in e:
            return None
        name_node = e["flow"][1]
        preset = values(e["vars"][1], ctx, "vars") if "vars" in e else {}
    else:
        name_node, preset = node, {}
    name = r.string(name_node, "subflow", pattern=FLOW_NAME, hint=hint)
    if name is None:
        return None
    ctx.subflows.append((name, name_node))
    return m.Subflow(name, preset)


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")


@block("hours")
def parse_hours(node: Node, ctx: Context) -> m.BlockSpec | None:
    r = ctx.reader
    keys = ("timezone", "week", "holidays", "open", "closed", "holiday")
    e = r.mapping(node, "hours", keys, ("week", "open", "closed"))
    if e is None or not {"week", "open", "closed"} <= e.keys():
        return None
    zone = ctx.timezone
    if "timezone" in e:
        zone = timezone(e["timezone"][1], ctx) or zone
    week = schedule(e["week"][1], ctx)
    dates, yearly = holidays(e["holidays"][1], ctx) if "holidays" in e else (set(), set())
    open_, closed = ctx.target(e["open"][1], "open"), ctx.target(e["closed"][1], "closed")
    holiday = ctx.target(e["holiday"][1], "holiday") if "holiday" in e else None
    if week is None or not open_ or not closed:
        return None
    return m.Hours(zone, week, open_, closed, holiday, frozenset(dates), frozenset(yearly))


def timezone(node: Node, ctx: Context) -> str | None:
    name = ctx.reader.string(node, "timezone")
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        ctx.reader.error(node, f"unknown time zone {name!r} (an IANA name such as Europe/Madrid)")
        return None
    return name


def schedule(node: Node, ctx: Context) -> tuple[m.Ranges, ...] | None:
    """``{mon-fri: "09:00-14:00, 16:00-19:00", sat: "10:00-13:00", sun: closed}``."""
    r = ctx.reader
    entries = r.mapping(node, "week")
    if entries is None:
        return None
    week: list[m.Ranges | None] = [None] * 7
    for spec, (key_node, value_node) in entries.items():
        days = weekdays(spec, key_node, ctx)
        ranges = day_ranges(value_node, ctx)
        for day in days:
            if week[day] is not None:
                r.error(key_node, f"week: {DAYS[day]} is given twice")
            week[day] = ranges
    return tuple(day or () for day in week)


def weekdays(spec: str, node: Node, ctx: Context) -> list[int]:
    """``mon-fri``, ``sat,sun``, ``wed`` → weekday numbers (Monday 0)."""
    out: list[int] = []
    for part in spec.lower().replace(" ", "").split(","):
        ends = part.split("-")
        bad = [d for d in ends if d not in DAYS]
        if len(ends) > 2 or bad or not part:
            word = bad[0] if bad else part
            ctx.reader.error(
                node,
                f"week: {spec!r} is not days such as mon-fri or sat,sun{did_you_mean(word, DAYS)}",
            )
            return []
        first, last = DAYS.index(ends[0]), DAYS.index(ends[-1])
        if last < first:
            ctx.reader.error(node, f"week: {part!r} runs backwards (write e.g. mon-fri)")
            return []
        out.extend(range(first, last + 1))
    return out


def day_ranges(node: Node, ctx: Context) -> m.Ranges:
    """``"09:00-14:00, 16:00-19:00"``, a list of them, or ``closed``/``false``."""
    r = ctx.reader
    if _is_null(node) or (
        isinstance(node, ScalarNode) and (node.value == "closed" or node.tag.endswith(":bool"))
    ):
        return ()
    parts: list[str] = []
    if isinstance(node, ScalarNode):
        parts = node.value.split(",")
    else:
        for item in r.sequence(node, "opening hours") or []:
            value = r.string(item, "opening hours")
            parts.extend(value.split(",") if value else [])
    ranges: list[tuple[time, time | None]] = []
    for part in parts:
        match = _RANGE.fullmatch(part)
        start = clock(*match.groups()[:2]) if match else None
        end = clock(*match.groups()[2:], end=True) if match else None
        if start is None or end is False:
            r.error(node, f"opening hours {part.strip()!r}: write HH:MM-HH:MM (24-hour)")
            continue
        if end is not None and end <= start:
            r.error(node, f"opening hours {part.strip()!r} end before they start")
            continue
        ranges.append((start, end))
    ranges.sort(key=lambda span: span[0])
    for (_, end), (start, _) in itertools.pairwise(ranges):
        if end is None or start < end:
            r.error(node, "opening hours overlap")
            break
    return tuple(ranges)


def clock(hours: str, minutes: str, *, end: bool = False) -> Any:
    """A wall-clock time; ``24:00`` (only as an end) is None; invalid → None / False."""
    h, mi = int(hours), int(minutes)
    if end and (h, mi) == (24, 0):
        return None
    if h > 23 or mi > 59:
        return False if end else None
    return time(h, mi)


def holidays(node: Node, ctx: Context) -> tuple[set[date], set[tuple[int, int]]]:
    """Dates (``2026-12-25``) and yearly days (``"12-25"``)."""
    r = ctx.reader
    dates: set[date] = set()
    yearly: set[tuple[int, int]] = set()
    for item in r.sequence(node, "holidays") or []:
        value = r.scalar(item) if isinstance(item, ScalarNode) else None
        if value is None and item.tag.endswith(":timestamp"):
            continue  # not a real date: the reader said so
        if isinstance(value, date) and not isinstance(value, datetime):
            dates.add(value)
            continue
        text_value = str(value) if isinstance(value, str) else ""
        match = re.fullmatch(r"(\d{2})-(\d{2})", text_value)
        try:
            if not match:
                raise ValueError
            date(2024, int(match.group(1)), int(match.group(2)))  # a leap year: 02-29 is valid
            yearly.add((int(match.group(1)), int(match.group(2))))
        except ValueError:
            r.error(
                item,
                f"holiday {item.value if isinstance(item, ScalarNode) else ''!r}: "
                "write a date 2026-12-25 or a yearly day '12-25'",
            )
    return dates, yearly


# --------------------------------------------------------------------------- actions

SENDER = r"\+?[0-9]{3,15}|[A-Za-z0-9 ]{1,11}"
TEMPLATE_NAME = r"[a-z0-9_]{1,512}"
OUTBOX_FALLBACKS = frozenset({"sms", "whatsapp", "email"})


def _fields(
    node: Node, ctx: Context, kind: str, keys: tuple[str, ...], required: tuple[str, ...]
) -> dict[str, tuple[ScalarNode, Node]] | None:
    e = ctx.reader.mapping(node, kind, keys, required)
    if e is None or not set(required) <= e.keys():
        return None
    return e


def _fallback(e: dict[str, tuple[ScalarNode, Node]], ctx: Context, kind: str):
    if "fallback" not in e:
        return ()
    return actions(e["fallback"][1], ctx, f"{kind} fallback", OUTBOX_FALLBACKS)


def _to(e: dict[str, tuple[ScalarNode, Node]], ctx: Context, kind: str) -> str | None:
    return ctx.reader.template(e["to"][1], f"{kind} to") if "to" in e else "${caller}"


@action("sms")
def parse_sms(node: Node, ctx: Context) -> m.ActionSpec | None:
    r = ctx.reader
    e = _fields(node, ctx, "sms", ("to", "from", "text", "fallback"), ("text",))
    if e is None:
        return None
    body, to = r.template(e["text"][1], "sms text"), _to(e, ctx, "sms")
    hint = " (a number +34910000000 or an alphanumeric sender of up to 11 characters)"
    sender = r.string(e["from"][1], "sms from", pattern=SENDER, hint=hint) if "from" in e else None
    if body is None or to is None:
        return None
    return m.Sms(body, to, sender, _fallback(e, ctx, "sms"))


@action("whatsapp")
def parse_whatsapp(node: Node, ctx: Context) -> m.ActionSpec | None:
    r = ctx.reader
    keys = ("to", "template", "language", "params", "text", "window_open", "fallback")
    e = _fields(node, ctx, "whatsapp", keys, ())
    if e is None:
        return None
    if ("template" in e) == ("text" in e):
        r.error(node, "whatsapp needs template (an approved one) or text, not both")
        return None
    hint = " (an approved template's name: lower-case letters, digits and _)"
    name = body = None
    if "template" in e:
        name = r.string(e["template"][1], "template", pattern=TEMPLATE_NAME, hint=hint)
    else:
        body = r.template(e["text"][1], "whatsapp text")
    language = ctx.language
    if "language" in e:
        language = r.string(e["language"][1], "language", pattern=LANGUAGE, hint=_LANGUAGE_HINT)
    params: list[str] = []
    if "params" in e:
        for item in r.sequence(e["params"][1], "params") or []:
            value = r.template(item, "a template parameter")
            if value is not None:
                params.append(value)
    window = r.boolean(e["window_open"][1], "window_open") if "window_open" in e else False
    to = _to(e, ctx, "whatsapp")
    if (name is None and body is None) or language is None or to is None:
        return None
    fallback = _fallback(e, ctx, "whatsapp")
    return m.WhatsApp(name, language, tuple(params), to, fallback, body, bool(window))


@action("email")
def parse_email(node: Node, ctx: Context) -> m.ActionSpec | None:
    r = ctx.reader
    keys = ("to", "subject", "body", "from", "fallback")
    e = _fields(node, ctx, "email", keys, ("to", "subject", "body"))
    if e is None:
        return None
    to = r.template(e["to"][1], "email to")
    if to is not None and "${" not in to and "@" not in to:
        r.error(e["to"][1], f"email to {to!r} is not an e-mail address")
    subject, body = r.template(e["subject"][1], "subject"), r.template(e["body"][1], "body")
    sender = r.template(e["from"][1], "email from") if "from" in e else None
    if to is None or subject is None or body is None:
        return None
    return m.Email(to, subject, body, sender, _fallback(e, ctx, "email"))


@action("webhook")
def parse_webhook(node: Node, ctx: Context) -> m.ActionSpec | None:
    r = ctx.reader
    keys = ("url", "method", "body", "headers", "save_as", "timeout")
    e = _fields(node, ctx, "webhook", keys, ("url",))
    if e is None:
        return None
    url = r.template(e["url"][1], "url")
    if url is not None and not re.match(r"https?://", url):
        r.error(e["url"][1], f"url {url!r} must start with http:// or https://")
    kwargs: dict[str, Any] = {}
    if "method" in e:
        hint = " (GET, POST, PUT, PATCH or DELETE)"
        method = r.string(e["method"][1], "method", pattern="GET|POST|PUT|PATCH|DELETE", hint=hint)
        put(kwargs, "method", method)
    if "body" in e:
        kwargs["body"] = r.plain(e["body"][1])
        check_templates(kwargs["body"], e["body"][1], ctx)
    if "headers" in e:
        headers = {}
        for name, (_, value_node) in (r.mapping(e["headers"][1], "headers") or {}).items():
            value = r.template(value_node, f"header {name}")
            if value is not None:
                headers[name] = value
        kwargs["headers"] = headers
    if "save_as" in e:
        hint = " (a variable name)"
        put(kwargs, "save_as", r.string(e["save_as"][1], "save_as", pattern=VAR_NAME, hint=hint))
    if "timeout" in e:
        put(kwargs, "timeout", r.duration(e["timeout"][1], "timeout", 0, 30))
    return m.Webhook(url, **kwargs) if url else None


def check_templates(value: Any, node: Node, ctx: Context) -> None:
    """Every string inside a free-form value (a webhook body) must be a valid template."""
    if isinstance(value, dict):
        for item in value.values():
            check_templates(item, node, ctx)
    elif isinstance(value, list):
        for item in value:
            check_templates(item, node, ctx)
    elif isinstance(value, str):
        try:
            parse_template(value)
        except ExprError as exc:
            ctx.reader.error(node, f"body: {exc.message} in {value!r}")


@action("optin")
def parse_optin(node: Node, ctx: Context) -> m.ActionSpec | None:
    r = ctx.reader
    e = _fields(node, ctx, "optin", ("channel", "number"), ("channel",))
    if e is None:
        return None
    hint = " (sms, whatsapp or email)"
    channel = r.string(e["channel"][1], "channel", pattern="sms|whatsapp|email", hint=hint)
    number = r.template(e["number"][1], "number") if "number" in e else "${caller}"
    return m.OptIn(channel, number) if channel and number else None


@action("set")
def parse_set_action(node: Node, ctx: Context) -> m.ActionSpec | None:
    return m.SetVars(values(node, ctx, "set"))


# --------------------------------------------------------------------------- flows

TOP_KEYS = (
    "flow", "description", "language", "voice", "region", "timezone", "start",
    "max_steps", "on_error", "variables", "blocks", "on_hangup",
)  # fmt: skip
COMMON_BLOCK_KEYS = ("next", "actions", "voice", "description")
BLOCK_KEYS = (*BLOCK_PARSERS, *COMMON_BLOCK_KEYS)
assert set(m.BLOCK_KINDS) <= set(BLOCK_PARSERS), "every block kind needs a parser"
assert set(m.ACTION_KINDS) == set(ACTION_PARSERS), "every action kind needs a parser"


def load_flow(
    path: Path,
    *,
    name: str | None = None,
    defaults: Defaults | None = None,
    max_steps: int = 500,
    flow_exists: Callable[[str], bool] | None = None,
    content: bytes | None = None,
) -> m.Flow:
    """Read and validate one flow file; raise :class:`FlowError` (every error of the file
    in :class:`InvalidFlow`). ``name`` is what the file must call itself (default: the
    file's stem); ``flow_exists`` checks subflow names (None: not checked)."""
    file = str(path)
    if content is None:
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise FlowError(f"cannot read flow: {exc.strerror or exc}", file=file) from exc
    try:
        source = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FlowError(f"not UTF-8 text (byte {exc.start})", file=file) from exc
    root = compose(source, file)
    if root is None:
        raise FlowError("the flow file is empty", file=file, line=1, column=1)
    version = hashlib.sha256(content).hexdigest()[:12]
    reader = Reader(file)
    try:
        flow = _flow(
            root,
            reader,
            path,
            version,
            name or path.stem,
            defaults or Defaults(),
            max_steps,
            flow_exists,
        )
    except TooManyNodes:
        raise FlowError("the flow file has too many YAML nodes (aliases?)", file=file) from None
    except RecursionError:
        raise FlowError("the flow file is nested too deeply", file=file) from None
    reader.raise_errors()
    assert flow is not None
    return flow


def _flow(
    root: Node,
    r: Reader,
    path: Path,
    version: str,
    expected: str,
    defaults: Defaults,
    max_steps: int,
    flow_exists: Callable[[str], bool] | None,
) -> m.Flow | None:
    e = r.mapping(root, "a flow file", TOP_KEYS, ("flow", "blocks"))
    if e is None:
        return None
    name = expected
    if "flow" in e:
        declared = r.string(e["flow"][1], "flow")
        if declared is not None and declared != expected:
            r.error(e["flow"][1], f"flow: {declared!r} must equal the file's name {expected!r}")
    kwargs: dict[str, Any] = {}
    language = defaults.language
    if "language" in e:
        value = r.string(e["language"][1], "language", pattern=LANGUAGE, hint=_LANGUAGE_HINT)
        language = value or language
    ctx = Context(r, language, defaults.timezone)
    if "timezone" in e:
        ctx.timezone = timezone(e["timezone"][1], ctx) or ctx.timezone
    if "region" in e:
        hint = " (a two-letter country code such as ES)"
        put(kwargs, "region", r.string(e["region"][1], "region", pattern="[A-Z]{2}", hint=hint))
    if "voice" in e:
        voice = r.plain(e["voice"][1])
        if isinstance(voice, dict):
            kwargs["voice"] = voice
        else:
            r.error(e["voice"][1], "voice must be a mapping such as {engine: espeak-ng, voice: es}")
    if "description" in e:
        put(kwargs, "description", r.string(e["description"][1], "description"))
    if "max_steps" in e:
        max_steps = r.integer(e["max_steps"][1], "max_steps", 1, 100_000) or max_steps
    if "variables" in e:
        kwargs["variables"] = {
            k: v
            for k, v in values(e["variables"][1], ctx, "variables").items()
            if not isinstance(v, m.Condition)
        }
    blocks = _blocks(e["blocks"][1], ctx) if "blocks" in e else {}
    if "on_hangup" in e:
        ctx.block = ""
        r.block = ""
        kwargs["on_hangup"] = actions(e["on_hangup"][1], ctx, "on_hangup")
    r.block = ""
    start = next(iter(blocks), "")
    if "start" in e:
        start = ctx.target(e["start"][1], "start") or start
    if "on_error" in e:
        put(kwargs, "on_error", ctx.target(e["on_error"][1], "on_error"))
    for target, node, what in ctx.refs:
        if target not in blocks:
            r.error(node, f"{what}: no block {target!r}{did_you_mean(target, blocks)}")
    for sub, node in ctx.subflows:
        if sub == expected:
            r.error(node, "subflow: a flow cannot call itself")
        elif flow_exists is not None and not flow_exists(sub):
            r.error(node, f"subflow: no flow {sub!r}")
    return m.Flow(
        name=name,
        version=version,
        path=path,
        language=language,
        start=start,
        blocks=blocks,
        timezone=ctx.timezone,
        max_steps=max_steps,
        **{"region": defaults.region, **kwargs},
    )


def _blocks(node: Node, ctx: Context) -> dict[str, m.Block]:
    r = ctx.reader
    entries = r.mapping(node, "blocks")
    if entries is None:
        return {}
    if not entries:
        r.error(node, "blocks is empty: a flow needs at least one block")
    out: dict[str, m.Block] = {}
    for name, (key_node, value_node) in entries.items():
        if not re.fullmatch(BLOCK_NAME, name):
            r.error(key_node, f"block name {name!r}: use letters, digits, _ and - (not first)")
        ctx.block = r.block = name
        out[name] = _block(name, key_node, value_node, ctx)
    return out


def _block(name: str, key_node: Node, node: Node, ctx: Context) -> m.Block:
    r = ctx.reader
    line, column = key_node.start_mark.line + 1, key_node.start_mark.column + 1
    if _is_null(node):
        return m.Block(name, "step", m.Step(), line=line, column=column)
    e = r.mapping(node, f"block {name!r}", BLOCK_KEYS) or {}
    kinds = [k for k in e if k in BLOCK_PARSERS]
    if len(kinds) > 1:
        r.error(
            e[kinds[1]][0],
            f"a block has one kind, found {kinds[0]!r} and {kinds[1]!r}: "
            "split it into two blocks joined by next",
        )
    spec: m.BlockSpec | None = m.Step()
    if kinds:
        spec = BLOCK_PARSERS[kinds[0]](e[kinds[0]][1], ctx)
    spec = spec or m.Step()  # the parser recorded why; keep checking the rest
    kind = m.KIND_ALIASES.get(kinds[0], kinds[0]) if kinds else spec.kind
    following = None
    if "next" in e:
        if spec.takes_next:
            following = ctx.target(e["next"][1], "next")
        else:
            r.error(e["next"][0], f"a {kind} block has no next{_NO_NEXT.get(kind, '')}")
    block_actions = actions(e["actions"][1], ctx, "actions") if "actions" in e else ()
    voice = None
    if "voice" in e:
        voice = r.plain(e["voice"][1])
        if not isinstance(voice, dict):
            r.error(e["voice"][1], "voice must be a mapping such as {voice: en}")
            voice = None
    description = r.string(e["description"][1], "description") if "description" in e else ""
    return m.Block(
        name, kind, spec, following, block_actions, voice, description or "", line, column
    )


_NO_NEXT = {
    "menu": " (its options and on_fail say where to go)",
    "hours": " (open, closed and holiday say where to go)",
    "goto": " (goto is where it goes)",
    "hangup": " (the call ends there)",
    "return": " (the dialplan continues after AGI())",
}


# --------------------------------------------------------------------------- library


def check_name(name: str) -> str:
    """A flow name as ``agi://host/<name>`` gives it (DESIGN section 10), or FlowError."""
    if name.startswith("/") or ".." in name.split("/") or not re.fullmatch(FLOW_NAME, name):
        raise FlowError(
            f"invalid flow name {name!r}: letters, digits, _ and -, with / for subfolders"
        )
    return name


_DECLARED = re.compile(rb"^flow:[ \t]*[\"']?([A-Za-z0-9_/-]+)", re.MULTILINE)


def locate(path: Path, flows_dir: Path) -> tuple[Path, str]:
    """The library folder and flow name of a file given on the command line.

    Under ``flows_dir``: that folder and the relative name. Elsewhere, a file whose
    ``flow:`` key names it with subfolders (``common/outro`` in ``x/common/outro.yaml``)
    gets ``x`` as its folder; otherwise its own folder and its stem.
    """
    path = path.resolve()
    root = Path(flows_dir).resolve()
    if root in path.parents:
        return root, path.relative_to(root).with_suffix("").as_posix()
    try:
        declared = _DECLARED.search(path.read_bytes())
    except OSError:
        declared = None
    if declared:
        name = declared.group(1).decode()
        parts = name.split("/")
        stem = path.with_suffix("")
        if len(parts) > 1 and list(stem.parts[-len(parts) :]) == parts:
            return Path(*stem.parts[: -len(parts)]), name
    return path.parent, path.stem


@dataclass
class _Entry:
    """What the library serves for one name, and what it last saw on disk."""

    flow: m.Flow | None
    error: FlowError | None
    stat: tuple[int, int]
    digest: str


class FlowLibrary:
    """Flows by name from ``<flows_dir>/<name>.yaml``, loaded on first use, hot-reloaded.

    :meth:`get` returns the loaded :class:`~agi_callbot.flow.model.Flow`, an immutable
    object the call keeps (version pinning). :meth:`reload` (or the :meth:`watch` task)
    notices edits by size and mtime, then by content hash; a new version replaces the
    old one for new calls only if it validates, otherwise the old one keeps serving and
    one log line says why.
    """

    def __init__(
        self,
        flows_dir: Path,
        *,
        defaults: Defaults | None = None,
        max_steps: int = 500,
        settings: Any = None,
    ) -> None:
        self.flows_dir = Path(flows_dir)
        self.defaults = defaults or Defaults()
        self.max_steps = max_steps
        #: for lint at load (templates, hold music); None: those checks are skipped
        self.settings = settings
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any) -> FlowLibrary:
        return cls(
            settings.flows_dir,
            defaults=settings.defaults,
            max_steps=settings.flows.max_steps,
            settings=settings,
        )

    def path_for(self, name: str) -> Path:
        return self.flows_dir / f"{check_name(name)}.yaml"

    def exists(self, name: str) -> bool:
        try:
            return self.path_for(name).is_file()
        except FlowError:
            return False

    def names(self) -> list[str]:
        """Every flow file under the folder (test case files aside)."""
        if not self.flows_dir.is_dir():
            return []
        return sorted(
            p.relative_to(self.flows_dir).with_suffix("").as_posix()
            for p in self.flows_dir.rglob("*.yaml")
            if not p.name.endswith(".test.yaml")
        )

    def load(self, path: Path, name: str | None = None) -> m.Flow:
        """Validate one file with this library's defaults and subflows (``validate``)."""
        return load_flow(
            path,
            name=name,
            defaults=self.defaults,
            max_steps=self.max_steps,
            flow_exists=self.exists,
        )

    def get(self, name: str) -> m.Flow:
        """The current version of flow ``name``; FlowError if it is unknown or invalid."""
        entry = self._entries.get(name)
        if entry is None or entry.flow is None:
            entry = self._refresh(name, entry)
        if entry.flow is None:
            assert entry.error is not None
            raise entry.error
        return entry.flow

    def reload(self) -> list[str]:
        """Check every flow served so far; return the names whose version changed."""
        changed = []
        for name, entry in list(self._entries.items()):
            fresh = self._refresh(name, entry)
            if fresh is not entry and fresh.flow is not entry.flow:
                changed.append(name)
        return changed

    async def watch(self, interval: float = 1.0) -> None:
        """Poll for edits until cancelled (the server runs this as a task)."""
        while True:
            await asyncio.sleep(interval)
            await asyncio.to_thread(self.reload)

    def load_all(self) -> dict[str, FlowError]:
        """Load every flow now (start-up); the errors of those that did not load."""
        errors = {}
        for name in self.names():
            try:
                self.get(name)
            except FlowError as exc:
                errors[name] = exc
        return errors

    def _refresh(self, name: str, entry: _Entry | None) -> _Entry:
        path = self.path_for(name)
        try:
            stat = path.stat()
            signature = (stat.st_mtime_ns, stat.st_size)
            if entry is not None and signature == entry.stat:
                return entry
            content = path.read_bytes()
        except OSError as exc:
            return self._gone(name, entry, path, exc)
        digest = hashlib.sha256(content).hexdigest()
        if entry is not None and digest == entry.digest:
            entry.stat = signature
            return entry
        try:
            flow = load_flow(
                path,
                name=name,
                defaults=self.defaults,
                max_steps=self.max_steps,
                flow_exists=self.exists,
                content=content,
            )
        except FlowError as exc:
            fresh = _Entry(entry.flow if entry else None, exc, signature, digest)
            if fresh.flow is not None:
                log.warning(
                    "flow %s: not reloaded, version %s keeps serving: %s",
                    name,
                    fresh.flow.version,
                    exc,
                )
            else:
                log.warning("flow %s: not loaded: %s", name, exc)
        else:
            fresh = _Entry(flow, None, signature, digest)
            self._report(flow)
            if entry is not None and entry.flow is not None:
                log.info(
                    "flow %s: reloaded, version %s → %s", name, entry.flow.version, flow.version
                )
            else:
                log.info("flow %s: loaded, version %s", name, flow.version)
        with self._lock:
            self._entries[name] = fresh
        return fresh

    def _report(self, flow: m.Flow) -> None:
        """Lint runs on every load too: what ``validate`` would say, in one log line.

        Findings do not stop a version that passed the schema (a bounded loop still ends
        the call with a status); ``validate`` is where they fail a deployment.
        """
        findings = lint(flow, self.settings)
        if findings:
            log.warning(
                "flow %s: version %s has %d lint finding(s), first: %s",
                flow.name, flow.version, len(findings), findings[0],
            )  # fmt: skip

    def _gone(self, name: str, entry: _Entry | None, path: Path, exc: OSError) -> _Entry:
        error = FlowError(f"no flow {name!r} ({path}: {exc.strerror or exc})", file=str(path))
        if entry is not None and entry.flow is not None:
            log.warning("flow %s: file removed, no longer served", name)
        with self._lock:
            self._entries.pop(name, None)
        return _Entry(None, error, (0, 0), "")
