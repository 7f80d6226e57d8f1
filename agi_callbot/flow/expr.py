"""Conditions and ``${var}`` templates: a small language parsed by hand, never ``eval``.

A flow's ``branch``, ``when`` and ``set: {x: {expr: …}}`` hold expressions::

    language == "en" and not (caller in ["+34600111222", "+34600111333"])
    tries + 1 >= 3        digits != ""      "urgent" in subject      order.status == 'ok'

Operators, loosest first: ``or``, ``and``, ``not``, comparisons (``== != < <= > >= in``,
``not in``; not chained), ``+ -``, unary ``-``. Literals: numbers, '…'/"…" strings,
``true false null``, lists ``[a, b]``. Names are variables (``a.b`` walks into a
mapping such as a webhook's answer); ``${name}`` means the same. Values from the
channel are strings, so a comparison with a number compares numerically when the
string is a number. A variable that is not set raises :class:`UnsetVariable`: a
runtime surprise that takes the flow's error branch, not a silent empty string.

Templates (every spoken text, message field, webhook URL) interpolate ``${name}``;
``${name:-fallback}`` gives a default instead of the error; ``$${`` is a literal ``${``.
Errors carry a 1-based column inside the source string.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from agi_callbot.errors import EvalError, UnsetVariable

Value = Any


class ExprError(ValueError):
    """A syntax error; ``column`` is 1-based inside the expression or template."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"column {column}: {message}")
        self.message = message
        self.column = column


# --------------------------------------------------------------------------- tokens

_NAME = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
_TOKEN = re.compile(
    rf"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<var>\$\{{{_NAME}\}})
  | (?P<name>{_NAME})
  | (?P<op>==|!=|<=|>=|<|>|\+|-|\(|\)|\[|\]|,)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"'}


@dataclass(frozen=True)
class Token:
    kind: str  # number string name op keyword end
    text: str
    column: int
    value: Value = None


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if not match:
            char = source[pos]
            if char in "'\"":
                raise ExprError("string not closed", pos + 1)
            raise ExprError(f"unexpected character {char!r}", pos + 1)
        kind, text = match.lastgroup or "", match.group()
        column = pos + 1
        pos = match.end()
        if kind == "space":
            continue
        if kind == "number":
            tokens.append(Token(kind, text, column, float(text) if "." in text else int(text)))
        elif kind == "string":
            tokens.append(Token(kind, text, column, _unescape(text[1:-1], column)))
        elif kind == "var":
            tokens.append(Token("name", text, column, text[2:-1]))
        elif kind == "name" and text in _KEYWORDS:
            tokens.append(Token("keyword", text, column))
        else:
            tokens.append(Token(kind, text, column, text))
    tokens.append(Token("end", "", len(source) + 1))
    return tokens


def _unescape(body: str, column: int) -> str:
    out: list[str] = []
    chars = iter(enumerate(body))
    for i, char in chars:
        if char != "\\":
            out.append(char)
            continue
        _, escaped = next(chars)
        if escaped not in _ESCAPES:
            raise ExprError(f"unknown escape \\{escaped}", column + i + 1)
        out.append(_ESCAPES[escaped])
    return "".join(out)


# --------------------------------------------------------------------------- tree


@dataclass(frozen=True)
class Literal:
    value: Value


@dataclass(frozen=True)
class Var:
    name: str
    column: int


@dataclass(frozen=True)
class ListOf:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node
    column: int


Node = Literal | Var | ListOf | Unary | Binary
_COMPARISONS = {"==", "!=", "<", "<=", ">", ">=", "in", "not in"}


#: bounds that keep parsing and evaluation far from Python's recursion limit
MAX_LENGTH = 500
MAX_DEPTH = 32


class _Parser:
    def __init__(self, source: str) -> None:
        if len(source) > MAX_LENGTH:
            raise ExprError(f"expression longer than {MAX_LENGTH} characters", MAX_LENGTH + 1)
        self.tokens = tokenize(source)
        self.pos = 0
        self.depth = 0

    def deeper(self, column: int) -> None:
        """One more level of ``not``, ``-``, ``(`` or ``[``; refuse past :data:`MAX_DEPTH`."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprError(f"expression nested more than {MAX_DEPTH} levels deep", column)

    @property
    def token(self) -> Token:
        return self.tokens[self.pos]

    def take(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def at(self, *texts: str) -> bool:
        return self.token.kind in ("op", "keyword") and self.token.text in texts

    def expect(self, text: str) -> Token:
        if not self.at(text):
            raise ExprError(f"expected {text!r}, found {_describe(self.token)}", self.token.column)
        return self.take()

    def parse(self) -> Node:
        if self.token.kind == "end":
            raise ExprError("empty expression", 1)
        node = self.or_()
        if self.token.kind != "end":
            raise ExprError(f"unexpected {_describe(self.token)}", self.token.column)
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.at("or"):
            column = self.take().column
            node = Binary("or", node, self.and_(), column)
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.at("and"):
            column = self.take().column
            node = Binary("and", node, self.not_(), column)
        return node

    def not_(self) -> Node:
        if self.at("not"):
            self.deeper(self.take().column)
            node = Unary("not", self.not_())
            self.depth -= 1
            return node
        return self.comparison()

    def comparison(self) -> Node:
        node = self.additive()
        if self.at("==", "!=", "<", "<=", ">", ">=", "in", "not"):
            token = self.take()
            op = token.text
            if op == "not":
                self.expect("in")
                op = "not in"
            node = Binary(op, node, self.additive(), token.column)
            if self.at("==", "!=", "<", "<=", ">", ">=", "in"):
                raise ExprError("comparisons do not chain: use 'and'", self.token.column)
        return node

    def additive(self) -> Node:
        node = self.unary()
        while self.at("+", "-"):
            token = self.take()
            node = Binary(token.text, node, self.unary(), token.column)
        return node

    def unary(self) -> Node:
        if self.at("-"):
            column = self.take().column
            self.deeper(column)
            node = Binary("-", Literal(0), self.unary(), column)
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Node:
        token = self.token
        if token.kind in ("number", "string"):
            self.take()
            return Literal(token.value)
        if token.kind == "name":
            self.take()
            return Var(token.value, token.column)
        if token.kind == "keyword" and token.text in ("true", "false", "null"):
            self.take()
            return Literal({"true": True, "false": False, "null": None}[token.text])
        if self.at("("):
            self.deeper(self.take().column)
            node = self.or_()
            self.expect(")")
            self.depth -= 1
            return node
        if self.at("["):
            self.deeper(self.take().column)
            items: list[Node] = []
            while not self.at("]"):
                items.append(self.or_())
                if not self.at("]"):
                    self.expect(",")
            self.take()
            self.depth -= 1
            return ListOf(tuple(items))
        raise ExprError(f"expected a value, found {_describe(token)}", token.column)


def _describe(token: Token) -> str:
    return "end of expression" if token.kind == "end" else repr(token.text)


# --------------------------------------------------------------------------- evaluation


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
    return Expr(source, _Parser(source).parse())


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
    if node.op in _COMPARISONS:
        return _compare(node.op, left, right)
    return _arithmetic(node.op, left, right)


def _compare(op: str, left: Value, right: Value) -> bool:
    if op in ("in", "not in"):
        if isinstance(right, list):
            found = any(_equal(left, item) for item in right)
        elif isinstance(right, str | Mapping):
            found = _text(left) in right
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
        return _text(left) + _text(right)
    raise EvalError(f"cannot compute {left!r} {op} {right!r}")


# --------------------------------------------------------------------------- templates

_PLACEHOLDER = re.compile(r"\$\$\{|\$\{(?P<body>[^}]*)\}|\$\{")
_TEMPLATE_BODY = re.compile(rf"(?P<name>{_NAME})(?::-(?P<default>.*))?", re.DOTALL)


@dataclass(frozen=True)
class Template:
    """A text with ``${name}`` / ``${name:-default}`` placeholders, parsed once."""

    source: str
    parts: tuple[str | tuple[str, str | None], ...]

    def render(
        self,
        variables: Mapping[str, Value],
        *,
        strict: bool = True,
        place: Callable[[str, str], str] | None = None,
    ) -> str:
        """Unset names without a default raise, or read as "" when ``strict`` is false.

        ``place(value, text_so_far)`` encodes each value for where it lands (a URL's
        path or query); the template's own text is kept as written.
        """
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            name, default = part
            try:
                value = _text(lookup(variables, name))
            except UnsetVariable:
                if default is None and strict:
                    raise
                value = default or ""
            out.append(place(value, "".join(out)) if place is not None else value)
        return "".join(out)

    def variables(self) -> frozenset[str]:
        """Names without a default (the first part of a dotted name)."""
        return frozenset(
            p[0].split(".")[0] for p in self.parts if isinstance(p, tuple) and p[1] is None
        )

    @property
    def dynamic(self) -> bool:
        return any(isinstance(p, tuple) for p in self.parts)


@lru_cache(maxsize=4096)
def parse_template(source: str) -> Template:
    parts: list[str | tuple[str, str | None]] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(source):
        parts.append(source[pos : match.start()])
        pos = match.end()
        if match.group() == "$${":
            parts.append("${")
            continue
        body = match.group("body")
        if body is None:
            raise ExprError("'${' is not closed by '}'", match.start() + 1)
        name = _TEMPLATE_BODY.fullmatch(body)
        if not name:
            raise ExprError(f"not a variable name: {body!r}", match.start() + 3)
        parts.append((name.group("name"), name.group("default")))
    parts.append(source[pos:])
    return Template(source, tuple(p for p in parts if p != ""))


def interpolate(text: str, variables: Mapping[str, Value], *, strict: bool = True) -> str:
    """``text`` with its ``${…}`` replaced; unset names raise unless ``strict`` is false
    (post-call reports and logs, never caller-facing logic)."""
    return parse_template(text).render(variables, strict=strict)


def _text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
