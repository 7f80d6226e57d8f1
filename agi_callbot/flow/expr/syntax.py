"""The syntax of conditions: tokens, the tree, a hand-written recursive-descent parser.

Bounded (:data:`MAX_LENGTH`, :data:`MAX_DEPTH`) so that no expression in a flow file
comes near Python's recursion limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

#: what an expression is worth: a string, number, bool, null, list or mapping
Value = Any


class ExprError(ValueError):
    """A syntax error; ``column`` is 1-based inside the expression or template."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"column {column}: {message}")
        self.message = message
        self.column = column


# --------------------------------------------------------------------------- tokens

#: a variable name, dotted to walk into mappings (``order.status``)
NAME = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
_TOKEN = re.compile(
    rf"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<var>\$\{{{NAME}\}})
  | (?P<name>{NAME})
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
#: comparison operators (the rest of the binary ones are arithmetic or logic)
COMPARISONS = {"==", "!=", "<", "<=", ">", ">=", "in", "not in"}


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


def parse_tree(source: str) -> Node:
    """The tree of an expression; :class:`ExprError` with a column on bad syntax."""
    return _Parser(source).parse()
