"""A whole flow file: its top-level keys, its blocks, and the references between them."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from yaml.nodes import Node

from agi_callbot.config import Defaults
from agi_callbot.flow import model as m
from agi_callbot.flow.parse.values import (
    BLOCK_NAME,
    BLOCK_PARSERS,
    LANGUAGE,
    LANGUAGE_HINT,
    Context,
    actions,
    is_null,
    put,
    timezone,
    values,
)
from agi_callbot.flow.reader import Reader, did_you_mean

TOP_KEYS = (
    "flow", "description", "language", "voice", "region", "timezone", "start",
    "max_steps", "on_error", "variables", "blocks", "on_hangup",
)  # fmt: skip
COMMON_BLOCK_KEYS = ("next", "actions", "voice", "description")
BLOCK_KEYS = (*BLOCK_PARSERS, *COMMON_BLOCK_KEYS)


def parse_flow(
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
        value = r.string(e["language"][1], "language", pattern=LANGUAGE, hint=LANGUAGE_HINT)
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
        kwargs["variables"] = values(e["variables"][1], ctx, "variables", expressions=False)
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
        start_given="start" in e,
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
    if is_null(node):
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
