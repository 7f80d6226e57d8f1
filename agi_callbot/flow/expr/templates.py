"""``${name}`` templates: every spoken text, message field and webhook URL of a flow.

``${name:-fallback}`` gives a default instead of the error; ``$${`` is a literal ``${``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from agi_callbot.errors import UnsetVariable
from agi_callbot.flow.expr.evaluate import as_text, lookup
from agi_callbot.flow.expr.syntax import NAME, ExprError, Value

_PLACEHOLDER = re.compile(r"\$\$\{|\$\{(?P<body>[^}]*)\}|\$\{")
_TEMPLATE_BODY = re.compile(rf"(?P<name>{NAME})(?::-(?P<default>.*))?", re.DOTALL)


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
                value = as_text(lookup(variables, name))
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
