"""Splicing an edit into the admin's own text, so that only the edited lines change.

:func:`patch_scalar` replaces one scalar in place (same quoting, nothing else moves);
:func:`merge` applies the difference between two ruamel renderings of a file (before
and after a structural edit) to the text the admin wrote, which ruamel would otherwise
re-flow (a flow mapping spread over two lines, indentation).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from typing import Any

import yaml

#: libyaml's parser when PyYAML has it (20 times faster; the same node marks)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def compose(text: str) -> Any:
    """The YAML node tree of ``text`` (positions included), without building values."""
    return yaml.compose(text, Loader=_LOADER)


def paths_by_line(text: str) -> list[tuple[int, str]]:
    """(line, dotted path) of every mapping key and list item, in file order: where a
    problem the loader reports at a line belongs in the forms. Aliases are not followed."""
    try:
        root = compose(text)
    except yaml.YAMLError:
        return []
    found: list[tuple[int, str]] = []
    seen: set[int] = set()

    def walk(node: Any, prefix: list[str]) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                path = [*prefix, str(getattr(key, "value", ""))]
                found.append((key.start_mark.line + 1, ".".join(path)))
                walk(value, path)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                path = [*prefix, str(index)]
                found.append((item.start_mark.line + 1, ".".join(path)))
                walk(item, path)

    if root is not None:
        walk(root, [])
    return sorted(found, key=lambda item: item[0])


def field_at(text: str, line: int) -> str:
    """The deepest key path written on ``line`` (else the last one before it)."""
    return field_in(paths_by_line(text), line)


def field_in(lines: list[tuple[int, str]], line: int) -> str:
    """:func:`field_at` on the result of :func:`paths_by_line` (several lines, one parse)."""
    best = ""
    for key_line, path in lines:
        if key_line > line:
            break
        if key_line < line and best and best.count(".") > path.count("."):
            best = path
            continue
        best = path
    return best


def block_names(text: str) -> list[str] | None:
    """The blocks of a flow text in file order (None when it is not YAML)."""
    try:
        root = compose(text)
    except yaml.YAMLError:
        return None
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if getattr(key, "value", None) == "blocks" and isinstance(value, yaml.MappingNode):
            return [str(getattr(k, "value", "")) for k, _ in value.value]
    return []


_PLAIN_UNSAFE = re.compile(r"^[\s\-?:,\[\]{}#&*!|>'\"%@`]|: | #|[\n\r\t]|\s$|:$")


def patch_scalar(text: str, path: Sequence[str | int], value: Any) -> str | None:
    """``text`` with the scalar at ``path`` replaced by ``value`` written in the old one's
    style, or None when that is not a one-scalar change (a new key, a container, a block
    scalar, an alias)."""
    if isinstance(value, dict | list) or value is None:
        return None
    try:
        node: Any = compose(text)
    except yaml.YAMLError:
        return None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            found = [
                v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(part)
            ]
            if len(found) != 1:
                return None
            node = found[0]
        elif isinstance(node, yaml.SequenceNode):
            try:
                node = node.value[int(part)]
            except (ValueError, IndexError):
                return None
        else:
            return None
    if not isinstance(node, yaml.ScalarNode) or node.style in ("|", ">"):
        return None
    if text[node.start_mark.index : node.start_mark.index + 1] in ("*", "&", "!"):
        return None
    # an empty string must be quoted: that quoting is YAML's, not the admin's choice
    rendered = _scalar_text(value, node.style if node.value != "" else None)
    if rendered is None:
        return None
    return text[: node.start_mark.index] + rendered + text[node.end_mark.index :]


def _scalar_text(value: Any, style: str | None) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str) or "\n" in value:
        return None
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style == '"' or not value or _PLAIN_UNSAFE.search(value):
        return json.dumps(value, ensure_ascii=False)
    try:
        if yaml.safe_load(value) != value:
            return json.dumps(value, ensure_ascii=False)
    except yaml.YAMLError:
        return json.dumps(value, ensure_ascii=False)
    return value


def merge(ours: str, base: str, theirs: str) -> str:
    """Apply the change base → theirs to ``ours`` (= base up to re-formatting).

    A change inside lines ``ours`` writes as ``base`` does is spliced in at the matching
    lines; a change touching lines written differently (a re-flowed flow mapping)
    replaces that whole region with ``theirs``' rendering of it.
    """
    if ours == base:
        return theirs
    o, b, t = ours.splitlines(True), base.splitlines(True), theirs.splitlines(True)
    if o and not o[-1].endswith("\n"):
        o[-1] += "\n"
    same = difflib.SequenceMatcher(None, b, o, autojunk=False).get_opcodes()
    differ = [(b1, b2) for tag, b1, b2, _, _ in same if tag != "equal"]

    def widen(b1: int, b2: int) -> tuple[int, int]:
        for r1, r2 in differ:
            if r1 < b1 < r2 or (b1 == b2 and r1 < b1 < r2):
                b1 = r1
            if r1 < b2 < r2:
                b2 = r2
        return b1, b2

    def to_ours(index: int) -> int:
        for tag, b1, b2, o1, o2 in same:
            if tag == "equal" and b1 <= index <= b2:
                return o1 + index - b1
            if index == b1:
                return o1
            if index == b2:
                return o2
        return len(o)

    hunks: list[list[int]] = []
    for tag, b1, b2, t1, t2 in difflib.SequenceMatcher(None, b, t, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        w1, w2 = widen(b1, b2)
        hunk = [w1, w2, t1 - (b1 - w1), t2 + (w2 - b2)]
        if hunks and hunk[0] <= hunks[-1][1]:
            last = hunks[-1]
            last[1], last[3] = max(last[1], hunk[1]), max(last[3], hunk[3])
        else:
            hunks.append(hunk)
    result: list[str] = []
    cursor = 0
    for b1, b2, t1, t2 in hunks:
        start, stop = max(to_ours(b1), cursor), max(to_ours(b2), cursor)
        result.extend(o[cursor:start])
        result.extend(t[t1:t2])
        cursor = stop
    result.extend(o[cursor:])
    return "".join(result)
