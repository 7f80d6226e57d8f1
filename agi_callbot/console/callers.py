"""Flows that call a flow as a sub-flow: renaming and deleting keep them working.

Renaming flow ``old`` to ``new`` rewrites every ``subflow: old`` (and
``subflow: {flow: old, …}``) of the other flows in the same operation: only those lines
change (the edit goes through :func:`agi_callbot.console.document.edit_text`), each
rewritten flow gets a new version with the previous one in its history. The new file
is written first, then the callers, then the old file goes (into the history): at no
moment does a call find a sub-flow missing. If one caller cannot be written, every file
already written is put back and nothing is renamed; the error names the flow.

Deleting a flow that others call is refused with their names unless the admin
confirms (their calls would end with an error at that block).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agi_callbot.console.document import EditError, FlowDocument, edit_text
from agi_callbot.console.store import Checked, Conflict, Invalid, StoreError, Unwritable

if TYPE_CHECKING:
    from agi_callbot.console.state import Console
    from agi_callbot.console.store import FlowStore


class Called(StoreError):
    """The flow is a sub-flow of others: deleting it needs the admin's confirmation."""

    status = 409

    def __init__(self, name: str, callers: list[str]) -> None:
        super().__init__(
            f"flow {name!r} is called as a sub-flow by {', '.join(callers)}: their calls "
            "would end with an error at that block. Confirm to delete it anyway."
        )
        self.callers = callers


@dataclass
class Renamed:
    """What a rename did: the flow's new version and the flows whose references moved."""

    checked: Checked
    #: {caller flow: its new version}
    callers: dict[str, str] = field(default_factory=dict)


def subflow_paths(text: str, flow: str) -> list[list[str]]:
    """The YAML paths in ``text`` whose value is a sub-flow call to ``flow``."""
    if flow not in text:
        return []
    try:
        blocks = FlowDocument(text).data.get("blocks")
    except EditError:
        return []  # a broken file calls nothing; the validation says why
    if not isinstance(blocks, dict):
        return []
    paths = []
    for block_name, block in blocks.items():
        spec = block.get("subflow") if isinstance(block, dict) else None
        if spec == flow:
            paths.append(["blocks", str(block_name), "subflow"])
        elif isinstance(spec, dict) and spec.get("flow") == flow:
            paths.append(["blocks", str(block_name), "subflow", "flow"])
    return paths


def retarget(text: str, old: str, new: str) -> str:
    """``text`` with its sub-flow calls to ``old`` made to ``new``; nothing else changes."""
    ops = [{"op": "set", "path": path, "value": new} for path in subflow_paths(text, old)]
    return edit_text(text, ops) if ops else text


def callers_of(store: FlowStore, name: str) -> list[str]:
    """The other flows that call ``name`` as a sub-flow, by name."""
    found = []
    for other in store.names():
        if other == name:
            continue
        try:
            text, _ = store.read(other)
        except StoreError:
            continue
        if subflow_paths(text, name):
            found.append(other)
    return found


@dataclass
class Plan:
    """Everything a rename writes, worked out before anything is written."""

    text: str  # the renamed flow's new text
    #: {caller: (its text now, its version now, its text after)}
    callers: dict[str, tuple[str, str, str]]


def plan(store: FlowStore, name: str, new_name: str, text: str) -> Plan:
    document = FlowDocument(retarget(text, name, new_name))  # it may call itself
    document.set(["flow"], new_name)
    callers = {}
    for other in callers_of(store, name):
        other_text, other_version = store.read(other)
        callers[other] = (other_text, other_version, retarget(other_text, name, new_name))
    return Plan(document.text(), callers)


@contextlib.asynccontextmanager
async def _locked(store: FlowStore, names: list[str]) -> AsyncIterator[None]:
    """Hold the store's locks of ``names`` (in a fixed order: no two operations deadlock)."""
    async with contextlib.AsyncExitStack() as stack:
        for name in sorted(set(names)):
            await stack.enter_async_context(store.lock(name))
        yield


async def rename(console: Console, name: str, new_name: str, base_version: str | None) -> Renamed:
    """Rename flow ``name`` to ``new_name`` and every sub-flow call to it (see the module).
    The texts are worked out in the console's worker process; the node writes them."""
    store = console.store
    store.path(new_name)
    if new_name == name:
        raise StoreError("the new name is the flow's name")
    text, version = store.read(name)
    if version != base_version:
        raise store.conflict(name, base_version)
    plan: Plan = await console.work("rename_plan", name, new_name, text)
    async with _locked(store, [name, new_name, *plan.callers]):
        if store.current_version(new_name) is not None:
            raise StoreError(f"a flow named {new_name!r} already exists")
        if store.current_version(name) != base_version:
            raise store.conflict(name, base_version)
        checked = await console.check(new_name, plan.text)
        if checked.state == "errors":
            raise Invalid(checked.problems)
        now = await console.work("callers", name)
        moved = [o for o, (_, v, _) in plan.callers.items() if store.current_version(o) != v]
        if moved or set(now) != set(plan.callers):
            changed = ", ".join(sorted(set(moved) | (set(now) ^ set(plan.callers))))
            raise Conflict(
                f"{changed} changed while {name!r} was being renamed: nothing was renamed; "
                "try again",
                current=None,
                version=None,
            )
        await store.write_new(new_name, plan.text)
        done: list[str] = []
        for other, (_, _, other_new) in plan.callers.items():
            try:
                await store.replace(other, other_new)
            except Unwritable as exc:
                await _put_back(store, new_name, {o: plan.callers[o][0] for o in done})
                raise Unwritable(
                    f"nothing was renamed: {exc} (flow {other!r} calls {name!r} as a "
                    "sub-flow and must change with it)"
                ) from None
            done.append(other)
        try:
            await store.remove(name)
        except Unwritable as exc:
            raise Unwritable(
                f"{new_name!r} is written and its callers call it, but the old file stays: {exc}"
            ) from None
        store.move_cases(name, new_name)
        versions = {other: store.current_version(other) or "" for other in plan.callers}
        return Renamed(checked, versions)


async def _put_back(store: FlowStore, new_name: str, originals: dict[str, str]) -> None:
    failed = []
    for other, text in originals.items():
        try:
            await store.replace(other, text)
        except Unwritable:
            failed.append(other)
    with contextlib.suppress(OSError):
        store.path(new_name).unlink()
    if failed:
        raise Unwritable(
            f"the rename failed half way and {', '.join(failed)} could not be put back: "
            f"they call {new_name!r}; restore them from their history"
        )


async def delete(
    console: Console, name: str, base_version: str | None, *, confirmed: bool = False
) -> list[str]:
    """Delete flow ``name``; refused with its callers' names unless ``confirmed``.
    Returns the flows whose sub-flow calls now point nowhere."""
    callers: list[str] = await console.work("callers", name)
    if callers and not confirmed:
        raise Called(name, callers)
    await console.store.delete(name, base_version)
    return callers
