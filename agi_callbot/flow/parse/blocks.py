"""Parsers of the block kinds (``hours`` is in :mod:`.schedule`).

Each returns the spec or None after recording why; references to other blocks go
through :meth:`Context.target` and are checked once the whole file is read.
"""

from __future__ import annotations

import re
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode

from agi_callbot.flow import model as m
from agi_callbot.flow.parse.values import (
    DIGITS,
    FLOW_NAME,
    SOUND,
    VAR_NAME,
    Context,
    actions,
    block,
    block_fields,
    condition,
    is_null,
    key_digit,
    prompt,
    put,
    values,
)


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


@block("menu", _MENU_KEYS)
def parse_menu(node: Node, ctx: Context) -> m.BlockSpec | None:
    r = ctx.reader
    e = block_fields(node, ctx, "menu", ("prompt", "options"))
    if e is None:
        return None
    options = menu_options(e["options"][1], ctx)
    kwargs: dict[str, Any] = {}
    common_retry_keys(e, ctx, kwargs, timeout=60.0)
    if "inter_digit" in e:
        put(kwargs, "inter_digit", r.duration(e["inter_digit"][1], "inter_digit", 0.5, 30))
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
        put(kwargs, "timeout", r.duration(e["timeout"][1], "timeout", 0.5, timeout))
    if "retries" in e:
        put(kwargs, "retries", r.integer(e["retries"][1], "retries", 0, 10))
    for key in ("no_input", "invalid"):
        if key in e:
            put(kwargs, key, prompt(e[key][1], ctx, key))
    if "on_fail" in e:
        put(kwargs, "on_fail", ctx.target(e["on_fail"][1], "on_fail"))


_COLLECT_KEYS = (
    "prompt", "var", "min_digits", "max_digits", "terminator", "pattern", "retries",
    "timeout", "no_input", "invalid", "on_fail",
)  # fmt: skip


@block("collect", _COLLECT_KEYS)
def parse_collect(node: Node, ctx: Context) -> m.BlockSpec | None:
    r = ctx.reader
    e = block_fields(node, ctx, "collect", ("prompt",))
    if e is None:
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


@block("transfer", _TRANSFER_KEYS)
def parse_transfer(node: Node, ctx: Context) -> m.BlockSpec | None:
    r = ctx.reader
    e = block_fields(node, ctx, "transfer")
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
            put(kwargs, "max_wait", r.duration(e["max_wait"][1], "max_wait", 1, 4 * 3600))
        if "ring" in e:
            r.error(e["ring"][0], "ring is for agent transfers; a team waits up to max_wait")
    else:
        hint = " (a dial string such as PJSIP/1001)"
        put(kwargs, "agent", r.template(e["agent"][1], "agent"))
        agent = kwargs.get("agent", "")
        if agent and "${" not in agent and not re.fullmatch(DIAL_STRING, agent):
            r.error(e["agent"][1], f"agent {kwargs['agent']!r} is not valid{hint}")
        if "ring" in e:
            put(kwargs, "ring", r.duration(e["ring"][1], "ring", 1, 600))
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


HANGUP_KEYS = ("message", "result")


@block("hangup", HANGUP_KEYS)
def parse_hangup(node: Node, ctx: Context) -> m.BlockSpec | None:
    if is_null(node):
        return m.Hangup()
    if isinstance(node, MappingNode) and {"message", "result"} & {
        k.value for k, _ in node.value if isinstance(k, ScalarNode)
    }:
        e = block_fields(node, ctx, "hangup")
        if e is None:
            return None
        message = prompt(e["message"][1], ctx, "message") if "message" in e else None
        result = ctx.reader.template(e["result"][1], "result") if "result" in e else None
        return m.Hangup(message, result)
    message = prompt(node, ctx, "message")
    return m.Hangup(message) if message else None


@block("return", ("result",))
def parse_return(node: Node, ctx: Context) -> m.BlockSpec | None:
    if is_null(node):
        return m.Return()
    e = block_fields(node, ctx, "return")
    if e is None:
        return None
    return m.Return(ctx.reader.template(e["result"][1], "result") if "result" in e else None)


@block("set")
def parse_set(node: Node, ctx: Context) -> m.BlockSpec | None:
    return m.SetBlock(m.SetVars(values(node, ctx, "set")))


BRANCH_KEYS = ("if", "goto", "else")


@block("branch", BRANCH_KEYS)
def parse_branch(node: Node, ctx: Context) -> m.BlockSpec | None:
    r = ctx.reader
    items = r.sequence(node, "branch")
    if items is None:
        return None
    cases: list[m.Case] = []
    default: str | None = None
    for index, item in enumerate(items):
        e = r.mapping(item, "a branch case", BRANCH_KEYS)
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


@block("subflow", ("flow", "vars"))
def parse_subflow(node: Node, ctx: Context) -> m.BlockSpec | None:
    r = ctx.reader
    hint = " (a flow name: letters, digits, _, - and / for subfolders)"
    if isinstance(node, MappingNode):
        e = block_fields(node, ctx, "subflow", ("flow",))
        if e is None:
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
