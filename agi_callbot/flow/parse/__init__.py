"""Flow YAML → model: one parser per block kind and action kind, over positioned nodes.

``values`` holds what every parser shares (context, registries, texts, conditions,
action lists); ``blocks``, ``schedule`` (hours) and ``actions`` register the kinds;
``flow`` reads a whole file and checks the references between blocks. Importing this
package fills the registries; :func:`parse_flow` is what the loader calls.
"""

from __future__ import annotations

from agi_callbot.flow import model as m
from agi_callbot.flow.parse import actions, blocks, schedule
from agi_callbot.flow.parse.flow import BLOCK_KEYS, TOP_KEYS, parse_flow
from agi_callbot.flow.parse.values import (
    ACTION_FIELDS,
    ACTION_PARSERS,
    BLOCK_FIELDS,
    BLOCK_PARSERS,
    FLOW_NAME,
    Context,
)

assert set(m.BLOCK_KINDS) <= set(BLOCK_PARSERS), "every block kind needs a parser"
assert set(m.ACTION_KINDS) == set(ACTION_PARSERS), "every action kind needs a parser"
del actions, blocks, schedule  # imported for their registrations

__all__ = [
    "ACTION_FIELDS",
    "ACTION_PARSERS",
    "BLOCK_FIELDS",
    "BLOCK_KEYS",
    "BLOCK_PARSERS",
    "FLOW_NAME",
    "TOP_KEYS",
    "Context",
    "parse_flow",
]
