"""Reading YAML nodes with their positions: every value a flow file holds knows its line.

The loader works on ``yaml.compose`` nodes rather than on plain dicts so that an error
points at the key or value an admin has to fix (``support.yaml:12:14: …``). A
:class:`Reader` collects every error of a file instead of stopping at the first, so
``validate`` lists them all in one run; its typed accessors record the error and
return ``None``, and the caller carries on with a default.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from agi_callbot.config import parse_duration
from agi_callbot.errors import FlowError
from agi_callbot.flow.expr import ExprError, parse_template

#: a file with more nodes than this is refused (alias bombs, runaway generators)
MAX_NODES = 50_000
MAX_BYTES = 1_000_000


class InvalidFlow(FlowError):
    """Every error of one flow file; ``str()`` is the first, ``errors`` holds them all."""

    def __init__(self, errors: Iterable[FlowError]) -> None:
        ordered = sorted(errors, key=lambda e: (e.line, e.column))
        first = ordered[0]
        more = f" (and {len(ordered) - 1} more)" if len(ordered) > 1 else ""
        super().__init__(
            first.message + more,
            file=first.file,
            line=first.line,
            column=first.column,
            block=first.block,
        )
        self.errors = tuple(ordered)


class TooManyNodes(Exception):
    """Raised out of a Reader when a file exceeds :data:`MAX_NODES` (caught by the loader)."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'next'?)`` or ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag.endswith(":null"):
        return "nothing (null)"
    return repr(node.value)


class Reader:
    """Typed access to composed YAML nodes for one file, collecting errors."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[FlowError] = []
        self.block = ""
        self._nodes = 0
        self._constructor = yaml.SafeLoader("")

    # ----------------------------------------------------------------- errors

    def error(self, node: Node | None, message: str, *, offset: int = 0) -> None:
        """Record an error at ``node`` (``offset`` characters into a one-line scalar)."""
        line = node.start_mark.line + 1 if node is not None else 0
        column = node.start_mark.column + 1 + offset if node is not None else 0
        self.errors.append(
            FlowError(message, file=self.file, line=line, column=column, block=self.block)
        )

    def raise_errors(self) -> None:
        if self.errors:
            raise InvalidFlow(self.errors)

    def _count(self) -> None:
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise TooManyNodes

    # ----------------------------------------------------------------- structure

    def mapping(
        self,
        node: Node,
        what: str,
        allowed: Collection[str] | None = None,
        required: Collection[str] = (),
    ) -> dict[str, tuple[ScalarNode, Node]] | None:
        """A mapping's entries by key; unknown keys (with a suggestion) and duplicates
        are errors. ``allowed`` None accepts any key (names chosen by the admin)."""
        self._count()
        if not isinstance(node, MappingNode):
            self.error(node, f"{what} must be a mapping, not {describe(node)}")
            return None
        self._constructor.flatten_mapping(node)
        entries: dict[str, tuple[ScalarNode, Node]] = {}
        for key_node, value_node in node.value:
            self._count()
            if not isinstance(key_node, ScalarNode) or key_node.tag.endswith(":null"):
                self.error(key_node, f"a key in {what} must be a plain name")
                continue
            key = key_node.value
            if key in entries:
                first = entries[key][0].start_mark.line + 1
                self.error(key_node, f"duplicate key {key!r} in {what} (first on line {first})")
                continue
            if allowed is not None and key not in allowed:
                hint = did_you_mean(key, allowed)
                self.error(key_node, f"unknown key {key!r} in {what}{hint}")
                continue
            entries[key] = (key_node, value_node)
        for key in required:
            if key not in entries:
                self.error(node, f"{what} needs {key!r}")
        return entries

    def sequence(self, node: Node, what: str) -> list[Node] | None:
        self._count()
        if not isinstance(node, SequenceNode):
            self.error(node, f"{what} must be a list, not {describe(node)}")
            return None
        for _ in node.value:
            self._count()
        return list(node.value)

    def plain(self, node: Node) -> Any:
        """Any YAML value as Python data (free-form parts: webhook bodies, voices)."""
        self._count()
        if isinstance(node, MappingNode):
            self._constructor.flatten_mapping(node)
            out = {}
            for key_node, value_node in node.value:
                key = self.plain(key_node)
                if not isinstance(key, str | int | float | bool) and key is not None:
                    self.error(key_node, "a key must be a plain value")
                    continue
                out[key] = self.plain(value_node)
            return out
        if isinstance(node, SequenceNode):
            return [self.plain(item) for item in node.value]
        return self.scalar(node)

    def scalar(self, node: ScalarNode) -> Any:
        try:
            return self._constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            self.error(node, f"bad value {node.value!r}: {exc}")
            return None

    # ----------------------------------------------------------------- values

    def string(
        self, node: Node, what: str, *, pattern: str | None = None, hint: str = ""
    ) -> str | None:
        """A string (numbers are read as written: ``1001`` → ``"1001"``)."""
        if not isinstance(node, ScalarNode) or node.tag.endswith((":null", ":bool")):
            self.error(node, f"{what} must be a text, not {describe(node)}")
            return None
        value = node.value
        if pattern is not None and not re.fullmatch(pattern, value):
            self.error(node, f"{what} {value!r} is not valid{hint}")
            return None
        return value

    def template(self, node: Node, what: str, *, allow_empty: bool = False) -> str | None:
        """A text that may hold ``${var}``: placeholders are checked now, filled at run time."""
        value = self.string(node, what)
        if value is None:
            return None
        if not value.strip() and not allow_empty:
            self.error(node, f"{what} is empty")
            return None
        try:
            parse_template(value)
        except ExprError as exc:
            self.error(node, f"{what}: {exc.message}", offset=self.offset(node, exc.column))
            return None
        return value

    def integer(self, node: Node, what: str, low: int, high: int) -> int | None:
        value = self.scalar(node) if isinstance(node, ScalarNode) else None
        if not isinstance(value, int) or isinstance(value, bool):
            self.error(node, f"{what} must be a whole number, not {describe(node)}")
            return None
        if not low <= value <= high:
            self.error(node, f"{what} must be between {low} and {high}, not {value}")
            return None
        return value

    def boolean(self, node: Node, what: str) -> bool | None:
        value = self.scalar(node) if isinstance(node, ScalarNode) else None
        if not isinstance(value, bool):
            self.error(node, f"{what} must be true or false, not {describe(node)}")
            return None
        return value

    def duration(self, node: Node, what: str, low: float, high: float) -> float | None:
        """``5s``, ``250ms``, ``2m`` or seconds, from ``low`` to ``high`` inclusive: an
        absurd timeout (a 1 ms menu, a day-long ring) is an admin's typo, not a wish."""
        value = self.scalar(node) if isinstance(node, ScalarNode) else node
        try:
            seconds = parse_duration(value)
        except ValueError:
            self.error(node, f"{what}: not a duration: {describe(node)} (write e.g. 5s, 2m)")
            return None
        if not low <= seconds <= high:
            bounds = f"{_seconds(low)} to {_seconds(high)}"
            self.error(node, f"{what} {node.value} is out of range ({bounds})")
            return None
        return seconds

    @staticmethod
    def offset(node: Node, column: int) -> int:
        """Columns into a scalar's value → columns from the node's start (quotes counted);
        a multi-line scalar points at its start."""
        if node.start_mark.line != node.end_mark.line:
            return 0
        quoted = isinstance(node, ScalarNode) and node.style in ("'", '"')
        return column - 1 + (1 if quoted else 0)


def _seconds(value: float) -> str:
    """A bound as admins write durations: 250ms, 5s, 2m, 4h."""
    for unit, size in (("h", 3600), ("m", 60)):
        if value >= size and value % size == 0:
            return f"{int(value // size)}{unit}"
    return f"{value * 1000:g}ms" if value < 1 else f"{value:g}s"


#: libyaml's composer recurses in C: past this nesting of [ and { it could overflow the
#: stack, so deeper files go through the pure-Python composer (RecursionError, caught)
MAX_C_DEPTH = 64
_BRACKETS = re.compile(r"[^\[\]{}]+")


def _bracket_depth(text: str) -> int:
    """Deepest [/{ nesting, counting brackets inside strings too (an over-estimate)."""
    depth = deepest = 0
    for char in _BRACKETS.sub("", text):
        depth = depth + 1 if char in "[{" else max(depth - 1, 0)
        deepest = max(deepest, depth)
    return deepest


def compose(text: str, file: str) -> Node | None:
    """YAML text → node tree; syntax errors become a :class:`FlowError` with a position.

    libyaml (16x faster) when present and the nesting is shallow; PyYAML otherwise."""
    if len(text) > MAX_BYTES:
        raise FlowError(f"flow file is larger than {MAX_BYTES} bytes", file=file)
    fast = getattr(yaml, "CSafeLoader", None)
    loader = fast if fast is not None and _bracket_depth(text) <= MAX_C_DEPTH else yaml.SafeLoader
    try:
        return yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise FlowError(
            f"YAML: {problem}",
            file=file,
            line=mark.line + 1 if mark else 0,
            column=mark.column + 1 if mark else 0,
        ) from exc
    except yaml.YAMLError as exc:
        raise FlowError(f"YAML: {exc}", file=file) from exc
    except RecursionError as exc:
        raise FlowError("YAML nested too deeply", file=file) from exc
