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

In three parts: :mod:`.syntax` (tokens, the tree, the parser), :mod:`.evaluate` (what an
expression is worth for a call's variables) and :mod:`.templates`.
"""

from agi_callbot.flow.expr.evaluate import Expr, lookup, parse, truthy
from agi_callbot.flow.expr.syntax import ExprError
from agi_callbot.flow.expr.templates import Template, interpolate, parse_template

__all__ = [
    "Expr",
    "ExprError",
    "Template",
    "interpolate",
    "lookup",
    "parse",
    "parse_template",
    "truthy",
]
