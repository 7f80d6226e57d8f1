"""What every parser shares: the parse context, the kind registries and common values.

A block kind or an action kind is one class in :mod:`~agi_callbot.flow.model` and one
parser registered here under its YAML key (``@block("menu")``, ``@action("sms")``).
Parsers read composed YAML nodes through a :class:`~agi_callbot.flow.reader.Reader`:
an accessor that fails records the error with its position and returns None, and the
parser carries on, so one run reports every error of a file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from yaml.nodes import MappingNode, Node, ScalarNode

from agi_callbot.flow import model as m
from agi_callbot.flow.expr import ExprError, parse
from agi_callbot.flow.reader import Reader, did_you_mean

BLOCK_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
VAR_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
FLOW_NAME = r"[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*"
LANGUAGE = r"[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*"
KEYS = "0123456789*#"
DIGITS = r"[0-9*#]{1,8}"
SOUND = r"[^\s,|]+"
LANGUAGE_HINT = " (a language tag such as es, en or en-GB)"


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
#: the keys each kind's mapping form accepts (empty: a kind written as a text, a name or a
#: list); the reference docs (docs/flows.md) are checked against these
BLOCK_FIELDS: dict[str, tuple[str, ...]] = {}
ACTION_FIELDS: dict[str, tuple[str, ...]] = {}


def block(key: str, fields: tuple[str, ...] = ()) -> Callable[[BlockParser], BlockParser]:
    def register(parser: BlockParser) -> BlockParser:
        BLOCK_PARSERS[key] = parser
        BLOCK_FIELDS[key] = fields
        return parser

    return register


def action(key: str, fields: tuple[str, ...] = ()) -> Callable[[ActionParser], ActionParser]:
    def register(parser: ActionParser) -> ActionParser:
        ACTION_PARSERS[key] = parser
        ACTION_FIELDS[key] = fields
        return parser

    return register


Fields = dict[str, tuple[ScalarNode, Node]]


def block_fields(
    node: Node, ctx: Context, kind: str, required: tuple[str, ...] = ()
) -> Fields | None:
    """A block's ``kind: {…}`` mapping, read against the keys its ``@block`` registered."""
    return _fields(node, ctx, kind, BLOCK_FIELDS[kind], required)


def action_fields(
    node: Node, ctx: Context, kind: str, required: tuple[str, ...] = ()
) -> Fields | None:
    """An action's ``kind: {…}`` mapping, read against the keys its ``@action`` registered."""
    return _fields(node, ctx, kind, ACTION_FIELDS[kind], required)


def _fields(
    node: Node, ctx: Context, kind: str, keys: tuple[str, ...], required: tuple[str, ...]
) -> Fields | None:
    """None (the reader said why) unless ``node`` is a mapping of ``keys`` with every
    ``required`` key."""
    e = ctx.reader.mapping(node, kind, keys, required)
    if e is None or not set(required) <= e.keys():
        return None
    return e


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
                r.error(key_node, f"{what}: {language!r} is not a language tag{LANGUAGE_HINT}")
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


def values(node: Node, ctx: Context, what: str, *, expressions: bool = True) -> dict[str, Any]:
    """``set`` values: templates, numbers, booleans or (with ``expressions``) ``{expr: …}``."""
    r = ctx.reader
    out: dict[str, Any] = {}
    for name, (key_node, value_node) in (r.mapping(node, what) or {}).items():
        if not re.fullmatch(VAR_NAME, name):
            r.error(key_node, f"{what}: {name!r} is not a variable name (letters, digits, _)")
            continue
        if isinstance(value_node, MappingNode) and not expressions:
            r.error(value_node, f"{what} {name}: a text, number or true/false (compute in a set)")
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
            shown = value_node.value
            r.error(value_node, f"{what} {name}: {shown!r} is not a text or number (quote it)")
            continue
        if value is not None:
            out[name] = value
    return out


def actions(
    node: Node, ctx: Context, what: str, only: frozenset[str] | None = None
) -> tuple[m.Action, ...]:
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


def put(kwargs: dict[str, Any], key: str, value: Any) -> None:
    """Keep a parsed value; a value that failed (None, error recorded) keeps the default."""
    if value is not None:
        kwargs[key] = value


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag.endswith(":null")


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
