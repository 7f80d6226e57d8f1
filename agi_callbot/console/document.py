"""A flow file as the admin wrote it, edited without losing their comments and layout.

Form edits are small operations on the YAML tree (``set``, ``delete``, ``append``,
``add_block``, ``rename_block``, ``delete_block``) applied with ruamel.yaml's round-trip
mode, which keeps comments, key order and quoting. ruamel still re-flows a few things
when it writes a whole file (a flow mapping spread over two lines becomes one line,
indentation is normalised), so the edit is written back as a three-way merge: the lines
the operation changed in ruamel's rendering are spliced into the admin's own text, and
everything else stays byte for byte. A one-field edit changes one line.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)

from agi_callbot.console.splice import field_at, merge, patch_scalar
from agi_callbot.errors import FlowError

Path = Sequence[str | int]

#: keys whose value names a block, inside a block's kind mapping
_REF_KEYS = frozenset(
    {"on_fail", "on_nobody", "on_no_answer", "on_busy", "on_unavailable", "open", "closed",
     "holiday"}
)  # fmt: skip
BLOCK_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_KEY_LINE = re.compile(r"^( +)(?!- )[^\s#][^:]*:")


class EditError(FlowError):
    """An edit that cannot apply (a path that does not exist, a name already taken)."""


def _yaml(text: str) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    mapping, sequence, offset = _indentation(text)
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _indentation(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) indents as the file uses them (2, 4, 2 when unsure)."""
    mapping = 2
    for line in text.splitlines():
        found = _KEY_LINE.match(line)
        if found:
            mapping = len(found.group(1))
            break
    sequence, offset = mapping + 2, mapping
    for previous, line in zip(text.splitlines(), text.splitlines()[1:], strict=False):
        stripped = line.lstrip(" ")
        if stripped.startswith("- ") and previous.rstrip().endswith(":"):
            dash = len(line) - len(stripped)
            parent = len(previous) - len(previous.lstrip(" "))
            offset = max(dash - parent, 0)
            sequence = offset + 2
            break
    return mapping, sequence, offset


class FlowDocument:
    """One flow file's text and its round-trip tree."""

    def __init__(self, text: str) -> None:
        self.original = text
        self._yaml = _yaml(text)
        try:
            self.data = self._yaml.load(text) if text.strip() else CommentedMap()
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise EditError(
                f"invalid YAML: {getattr(exc, 'problem', None) or exc}",
                line=mark.line + 1 if mark else 0,
                column=mark.column + 1 if mark else 0,
            ) from None
        if not isinstance(self.data, CommentedMap):
            raise EditError("a flow file is a mapping (flow:, blocks:, …)", line=1, column=1)
        self._base = self._render()

    # ----------------------------------------------------------------- reading

    def blocks(self) -> CommentedMap:
        blocks = self.data.get("blocks")
        if not isinstance(blocks, CommentedMap):
            blocks = CommentedMap()
            self.data["blocks"] = blocks
        return blocks

    def get(self, path: Path, default: Any = None) -> Any:
        node: Any = self.data
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return default
        return node

    def field_at(self, line: int) -> str:
        """The deepest key path written on ``line`` (else the last one before it)."""
        return field_at(self.text(), line)

    # ----------------------------------------------------------------- editing

    def apply(self, ops: Sequence[dict[str, Any]]) -> None:
        """Apply edits in order (see :func:`edit_text`)."""
        self._reset(edit_text(self.text(), ops))

    def _reset(self, text: str) -> None:
        fresh = FlowDocument(text)
        self.original, self.data, self._base = fresh.original, fresh.data, fresh._base

    def _apply(self, op: dict[str, Any]) -> None:
        name = op.get("op")
        if name == "set":
            self.set(_path(op), op.get("value"))
        elif name == "delete":
            self.delete(_path(op))
        elif name == "append":
            self.append(_path(op), op.get("value"))
        elif name == "add_block":
            self.add_block(str(op.get("name", "")), op.get("value"))
        elif name == "rename_block":
            self.rename_block(str(op.get("name", "")), str(op.get("new_name", "")))
        elif name == "delete_block":
            self.delete_block(str(op.get("name", "")))
        else:
            raise EditError(f"unknown edit {name!r}")

    def set(self, path: Path, value: Any) -> None:
        """Set the value at ``path``, creating mappings on the way; keep the old quoting."""
        if not path:
            raise EditError("an edit needs a path")
        parent = self._parent(path, create=True)
        key = path[-1]
        old = _lookup(parent, key)
        value = _styled(value, old)
        if isinstance(parent, CommentedSeq):
            index = _index(parent, key)
            parent[index] = value
        else:
            parent[key] = value

    def delete(self, path: Path) -> None:
        parent = self._parent(path, create=False)
        key = path[-1]
        if isinstance(parent, CommentedSeq):
            del parent[_index(parent, key)]
        elif isinstance(parent, CommentedMap) and key in parent:
            del parent[key]

    def append(self, path: Path, value: Any) -> None:
        target = self.get(path)
        if target is None:
            self.set(path, CommentedSeq())
            target = self.get(path)
        if not isinstance(target, CommentedSeq):
            raise EditError(f"{'.'.join(map(str, path))} is not a list")
        target.append(_tree(value))

    def add_block(self, name: str, body: Any) -> None:
        blocks = self.blocks()
        if not BLOCK_NAME.fullmatch(name):
            raise EditError(
                f"invalid block name {name!r}: a letter or _, then letters, digits, _ -"
            )
        if name in blocks:
            raise EditError(f"a block named {name!r} already exists")
        blocks[name] = _tree(body if body is not None else CommentedMap())
        if "start" not in self.data and len(blocks) == 1:
            self.data["start"] = name

    def rename_block(self, old: str, new: str) -> None:
        """Rename a block; every reference to it (start, next, goto, options, branches,
        outcomes) follows. Keeps the block's place in the file."""
        blocks = self.blocks()
        if old not in blocks:
            raise EditError(f"no block named {old!r}")
        if not BLOCK_NAME.fullmatch(new):
            raise EditError(f"invalid block name {new!r}: a letter or _, then letters, digits, _ -")
        if new in blocks:
            raise EditError(f"a block named {new!r} already exists")
        position = list(blocks).index(old)
        body = blocks.pop(old)
        blocks.insert(position, new, body)
        for holder, key in self.references(old):
            holder[key] = _styled(new, holder[key])

    def delete_block(self, name: str) -> None:
        """Delete a block and the optional references to it (``next``, outcomes, menu
        options, branch cases); references that cannot go (``goto``, ``open``) stay, and
        the validation then names them."""
        blocks = self.blocks()
        if name not in blocks:
            raise EditError(f"no block named {name!r}")
        del blocks[name]
        for holder, key in reversed(self.references(name)):
            if isinstance(holder, CommentedSeq):
                continue
            if key in ("goto", "open", "closed") and not _is_option(holder):
                continue
            if _is_case(holder):
                continue
            del holder[key]
        for branch in self._kinds("branch"):
            if isinstance(branch, CommentedSeq):
                keep = [
                    c
                    for c in branch
                    if not (_is_case(c) and name in (c.get("goto"), c.get("else")))
                ]
                branch[:] = keep
        if self.data.get("start") == name:
            if blocks:
                self.data["start"] = next(iter(blocks))
            else:
                del self.data["start"]

    def references(self, name: str) -> list[tuple[Any, Any]]:
        """(container, key) of every place that names block ``name``."""
        found: list[tuple[Any, Any]] = []
        for key in ("start", "on_error"):
            if self.data.get(key) == name:
                found.append((self.data, key))
        for block in self.blocks().values():
            if not isinstance(block, CommentedMap):
                continue
            if block.get("next") == name:
                found.append((block, "next"))
            for kind, spec in block.items():
                if kind == "goto" and spec == name:
                    found.append((block, "goto"))
                elif isinstance(spec, CommentedMap) and kind != "actions":
                    found.extend((spec, k) for k in _REF_KEYS if spec.get(k) == name)
                    options = spec.get("options") if kind == "menu" else None
                    if isinstance(options, CommentedMap):
                        for digits, option in options.items():
                            if option == name:
                                found.append((options, digits))
                            elif isinstance(option, CommentedMap) and option.get("goto") == name:
                                found.append((option, "goto"))
                elif kind == "branch" and isinstance(spec, CommentedSeq):
                    for case in spec:
                        if isinstance(case, CommentedMap):
                            found.extend((case, k) for k in ("goto", "else") if case.get(k) == name)
        return found

    def _kinds(self, kind: str) -> Iterator[Any]:
        for block in self.blocks().values():
            if isinstance(block, CommentedMap) and kind in block:
                yield block[kind]

    def _parent(self, path: Path, *, create: bool) -> Any:
        node: Any = self.data
        for part in path[:-1]:
            if isinstance(node, CommentedSeq):
                node = node[_index(node, part)]
                continue
            if not isinstance(node, CommentedMap):
                raise EditError(f"cannot edit {'.'.join(map(str, path))}: not a mapping")
            child = node.get(part)
            if not isinstance(child, CommentedMap | CommentedSeq):
                if not create:
                    raise EditError(f"nothing at {'.'.join(map(str, path))}")
                child = CommentedMap()
                node[part] = child
            node = child
        return node

    # ----------------------------------------------------------------- writing

    def _render(self) -> str:
        out = io.StringIO()
        self._yaml.dump(self.data, out)
        return out.getvalue()

    def text(self) -> str:
        """The edited file: the admin's text with only the edited lines replaced."""
        return merge(self.original, self._base, self._render())


def edit_text(text: str, ops: Sequence[dict[str, Any]]) -> str:
    """``text`` with the edits applied in order. Replacing one scalar with another is done
    in the text itself (same quoting, nothing else moves, no round-trip parse); other
    edits go through ruamel's tree and are spliced back."""
    for op in ops:
        patched = None
        if op.get("op") == "set":
            patched = patch_scalar(text, _path(op), op.get("value"))
        if patched is None:
            document = FlowDocument(text)
            document._apply(op)
            patched = document.text()
        text = patched
    return text


def _path(op: dict[str, Any]) -> list[str | int]:
    path = op.get("path")
    if not isinstance(path, list) or not path:
        raise EditError("an edit needs a path: a list of keys")
    return [p if isinstance(p, int) else str(p) for p in path]


def _index(seq: CommentedSeq, key: Any) -> int:
    try:
        index = int(key)
    except (TypeError, ValueError):
        raise EditError(f"{key!r} is not a list position") from None
    if not -len(seq) <= index < len(seq):
        raise EditError(f"no item {index} in the list")
    return index


def _lookup(parent: Any, key: Any) -> Any:
    try:
        if isinstance(parent, CommentedSeq):
            return parent[int(key)]
        return parent.get(key)
    except (IndexError, ValueError, AttributeError):
        return None


def _styled(value: Any, old: Any) -> Any:
    """A new scalar in the style of the one it replaces (quotes kept, block text kept)."""
    value = _tree(value)
    if not isinstance(value, str):
        return value
    for style in (DoubleQuotedScalarString, SingleQuotedScalarString, LiteralScalarString):
        if isinstance(old, style):
            if style is SingleQuotedScalarString and "\n" in value:
                return DoubleQuotedScalarString(value)
            return style(value)
    if "\n" in value:
        return LiteralScalarString(value if value.endswith("\n") else value + "\n")
    if old is None and (" " in value or value[:1] in "\"'{[&*!|>%@`#"):
        return DoubleQuotedScalarString(value)  # texts quoted, as the examples write them
    return value


def _tree(value: Any) -> Any:
    """Plain JSON values → ruamel's round-trip containers."""
    if isinstance(value, dict):
        out = CommentedMap()
        for key, item in value.items():
            out[str(key)] = _tree(item)
        return out
    if isinstance(value, list):
        return CommentedSeq(_tree(item) for item in value)
    return value


def _is_option(holder: Any) -> bool:
    return isinstance(holder, CommentedMap) and "goto" in holder and "actions" in holder


def _is_case(holder: Any) -> bool:
    return isinstance(holder, CommentedMap) and ("if" in holder or "else" in holder)
