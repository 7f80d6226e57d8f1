"""Checks on a loaded flow that the schema cannot make: what would go wrong on a call.

The loader refuses what cannot run (syntax, types, missing references). Lint looks at
the flow as a graph and against the settings:

- ``unreachable``: a block no path from ``start`` (or ``on_error``) reaches (warning)
- ``no-exit-loop``: blocks that only lead to each other and cannot end the call — an
  error when nothing in the loop waits for the caller (it spins until ``max_steps``),
  a warning when a menu or collect is in it (only the caller hanging up ends it)
- ``menu-on-fail`` / ``collect-on-fail``: no ``on_fail`` — a caller who cannot make it
  through gets the default ending instead of a human (warning)
- ``transfer-no-answer``: no ``on_no_answer`` — the caller is hung up on when nobody
  picks up (warning)
- ``unknown-variable``: ``${x}`` or an expression reads a variable nothing sets
  (warning: query-string arguments can still set it; the call takes the error branch
  if it is missing). In ``on_hangup`` this is the classic ``${digits}`` never collected.
- ``whatsapp``: template not in ``settings.templates`` (or wrong language or
  parameter count), or free text outside the 24 h window (errors; warning when no
  registry is configured at all)
- ``music``: a hold-music class with no folder in ``moh_dir`` (warning: Asterisk then
  plays ``default``)
- ``sound``: ``play:`` of an absolute path with no such file (warning)
- ``hours-never-open``: an ``hours`` block whose week has no opening hour (warning)
- ``subflow``: with a library, a sub-flow that does not load (error: calls fail when
  they reach it) or sub-flows that call each other in a circle (warning: each turn
  nests deeper until ``max_steps``)
- ``start``: no ``start:`` key (note: says which block calls begin at; notes never
  fail ``validate``, not even with ``--strict``)

One module per family of rules: :mod:`.paths` (unreachable, loops), :mod:`.blocks`
(fallbacks, files, start), :mod:`.variables`, :mod:`.actions` (WhatsApp), :mod:`.subflows`.
"""

from __future__ import annotations

from typing import Any

from agi_callbot.flow import model as m
from agi_callbot.flow.lint import actions, blocks, paths, subflows, variables
from agi_callbot.flow.lint.findings import Finding, Findings

__all__ = ["Finding", "lint"]


def lint(flow: m.Flow, settings: Any = None, library: Any = None) -> list[Finding]:
    """Every finding for ``flow``, in file order; ``settings`` enables the checks
    against templates and hold music, ``library`` (a FlowLibrary) those of sub-flows."""
    found = Findings(flow)
    blocks.start_note(flow, found)
    if library is not None:
        subflows.broken_subflows(flow, library, found)
    paths.unreachable_blocks(flow, found)
    paths.loops_with_no_exit(flow, found)
    blocks.missing_fallbacks(flow, found)
    variables.unknown_variables(flow, found)
    actions.whatsapp_messages(flow, settings, found)
    blocks.missing_files(flow, settings, found)
    return sorted(found, key=lambda f: (f.line, f.column, f.rule))
