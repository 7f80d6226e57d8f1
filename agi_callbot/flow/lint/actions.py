"""Rules on a flow's actions: WhatsApp templates against the registry and the 24 h
window; and every action of a flow with the block it hangs off."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agi_callbot.flow import model as m
from agi_callbot.flow.lint.findings import Findings
from agi_callbot.whatsapp_templates import check_template


def all_actions(flow: m.Flow) -> Iterator[tuple[m.Block | None, m.Action]]:
    """Every action with the block it hangs off (None: ``on_hangup``), fallbacks included."""

    def expand(
        block: m.Block | None, actions: tuple[m.Action, ...]
    ) -> Iterator[tuple[m.Block | None, m.Action]]:
        for action in actions:
            yield block, action
            yield from expand(block, getattr(action.spec, "fallback", ()))

    for block in flow.blocks.values():
        yield from expand(block, block.actions)
        spec = block.spec
        if isinstance(spec, m.Menu):
            for option in spec.options.values():
                yield from expand(block, option.actions)
        if isinstance(spec, m.Transfer):
            yield from expand(block, spec.on_hangup)
    yield from expand(None, flow.on_hangup)


def whatsapp_messages(flow: m.Flow, settings: Any, found: Findings) -> None:
    for block, action in all_actions(flow):
        if action.kind == "whatsapp":
            _whatsapp(action, block, settings, found)


def _whatsapp(action: m.Action, block: m.Block | None, settings: Any, found: Findings) -> None:
    spec = action.spec
    assert isinstance(spec, m.WhatsApp)
    name = block.name if block else ""
    if spec.template is None:
        if not spec.window_open:
            found.add(
                "error",
                "whatsapp",
                "free-form WhatsApp text outside the 24 h window: a "
                "phone call does not open it; name an approved template",
                action,
                name,
            )
        return
    if settings is None:
        return  # no settings to check against (a library built without them)
    if not settings.templates:
        found.add(
            "warning",
            "whatsapp",
            f"WhatsApp template {spec.template!r} not checked: no "
            "template registry (settings.templates)",
            action,
            name,
        )
        return
    problem = check_template(settings, spec.template, spec.language, list(spec.params))
    if problem:
        found.add("error", "whatsapp", problem, action, name)
