"""What an expression is worth for a call's variables.

Values from the channel are strings: a comparison or a sum with a number is numeric when
the string is a number. :class:`UnsetVariable` and :class:`EvalError` are runtime
surprises that take the flow's error branch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from agi_callbot.errors import EvalError, UnsetVariable
from agi_callbot.flow.expr.syntax import (
    COMPARISONS,
    Binary,
    ListOf,
    Literal,
    Node,
    Unary,
    Value,
    Var,
    parse_tree,
)


@dataclass(frozen=True)
class Expr:
    """A parsed expression; evaluate it with a call's variables."""

    source: str
    root: Node

    def evaluate(self, variables: Mapping[str, Value]) -> Value:
        return _eval(self.root, variables)

    def test(self, variables: Mapping[str, Value]) -> bool:
        return truthy(self.evaluate(variables))

    def variables(self) -> frozenset[str]:
        """Names read (the first part of a dotted name): for lint's unknown-variable rule."""
        return frozenset(name.split(".")[0] for name in _names(self.root))


@lru_cache(maxsize=4096)
def parse(source: str) -> Expr:
    """Parse an expression; :class:`ExprError` with a column on bad syntax."""
    return Expr(source, parse_tree(source))


def _names(node: Node) -> list[str]:
    if isinstance(node, Var):
        return [node.name]
    if isinstance(node, Unary):
        return _names(node.operand)
    if isinstance(node, Binary):
        return _names(node.left) + _names(node.right)
    if isinstance(node, ListOf):
        return [n for item in node.items for n in _names(item)]
    return []


def lookup(variables: Mapping[str, Value], name: str) -> Value:
    """A variable's value; ``a.b`` walks into mappings. :class:`UnsetVariable` if absent."""
    first, *rest = name.split(".")
    if first not in variables:
        raise UnsetVariable(name)
    value = variables[first]
    for part in rest:
        if not isinstance(value, Mapping) or part not in value:
            raise UnsetVariable(name)
        value = value[part]
    return value


def truthy(value: Value) -> bool:
    """Empty strings, 0, false, null and empty lists are false; everything else is true."""
    return bool(value)


def _number(value: Value) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+(?:\.\d+)?", value.strip()):
        text = value.strip()
        return float(text) if "." in text else int(text)
    return None


def _eval(node: Node, variables: Mapping[str, Value]) -> Value:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Var):
        return lookup(variables, node.name)
    if isinstance(node, ListOf):
        return [_eval(item, variables) for item in node.items]
    if isinstance(node, Unary):
        return not truthy(_eval(node.operand, variables))
    if node.op == "and":
        left = _eval(node.left, variables)
        return _eval(node.right, variables) if truthy(left) else left
    if node.op == "or":
        left = _eval(node.left, variables)
        return left if truthy(left) else _eval(node.right, variables)
    left, right = _eval(node.left, variables), _eval(node.right, variables)
    if node.op in COMPARISONS:
        return _compare(node.op, left, right)
    return _arithmetic(node.op, left, right)


def _compare(op: str, left: Value, right: Value) -> bool:
    if op in ("in", "not in"):
        if isinstance(right, list):
            found = any(_equal(left, item) for item in right)
        elif isinstance(right, str | Mapping):
            found = as_text(left) in right
        else:
            raise EvalError(f"'in' needs a list or a string on its right, not {right!r}")
        return found if op == "in" else not found
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    a, b = _number(left), _number(right)
    if a is None or b is None:
        if isinstance(left, str) and isinstance(right, str):
            a, b = left, right  # type: ignore[assignment]
        else:
            raise EvalError(f"cannot compare {left!r} {op} {right!r}")
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]  # type: ignore[operator]


def _equal(left: Value, right: Value) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left == right
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return a == b
    return left == right


def _arithmetic(op: str, left: Value, right: Value) -> Value:
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return a + b if op == "+" else a - b
    if op == "+" and isinstance(left, str | int | float) and isinstance(right, str | int | float):
        return as_text(left) + as_text(right)
    raise EvalError(f"cannot compute {left!r} {op} {right!r}")


def as_text(value: Value) -> str:
    """A value as it reads in a text: ``""`` for null, ``true``/``false``, ``3`` for 3.0."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
