"""What the console's worker processes do: the CPU-heavy part of its requests.

Checking a draft (the engine's loader and lint), form edits (ruamel round trip), the
flow's drawing, Try it calls (the in-memory Asterisk, the runner, a throw-away outbox),
the prompts and teams a flow names: all of it runs here, in processes of their own
(:mod:`agi_callbot.console.workers`), so it never holds the node's event loop or its
GIL while calls are waiting for an answer. Each worker reads the flows folder itself
with its own :class:`~agi_callbot.console.store.FlowStore`; it never writes a flow (the
node's process does, under its locks), only a flow's test cases file.

Every task answers plain data. A refusal (a stale version, a draft with errors, an
edit that cannot apply) comes back as a :class:`Failure` and is raised again, as the
same kind of error, in the node's process (:func:`raise_again`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib
import logging
import os
import select
import signal
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, NoReturn

from agi_callbot.config import Settings
from agi_callbot.console import tryit
from agi_callbot.console.document import EditError, FlowDocument, edit_text
from agi_callbot.console.splice import block_names, field_in, paths_by_line
from agi_callbot.console.store import (
    Checked,
    Conflict,
    FlowStore,
    Invalid,
    NotFound,
    StoreError,
    Unwritable,
)
from agi_callbot.errors import CallbotError, FlowError
from agi_callbot.flow.graph import to_dot
from agi_callbot.log import setup_logging

#: the workers yield the CPU to the node's calls (nice level, 0-19)
NICE = 10
CHECK_CACHE = 256


@dataclass
class Failure:
    """A refusal, as data: raised again in the node's process by :func:`raise_again`."""

    kind: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


class Desk:
    """A worker's state: the settings, its view of the flows folder, recent checks."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = FlowStore(settings)
        self._checked: OrderedDict[tuple[str, str], Checked] = OrderedDict()

    def checked(self, name: str, text: str) -> Checked:
        """Loader + lint verdict on ``text``, cached by content (drafts are re-checked as
        the admin types: the same text is not checked twice)."""
        key = (name, hashlib.sha256(text.encode()).hexdigest())
        found = self._checked.get(key)
        if found is not None:
            self._checked.move_to_end(key)
            return found
        found = self.store.check(name, text)
        self._checked[key] = found
        while len(self._checked) > CHECK_CACHE:
            self._checked.popitem(last=False)
        return found


_desk: Desk | None = None


def start(settings: Settings, node: int) -> None:
    """A worker's first act: its state, a lower priority than the node, no Ctrl-C, and
    a watch on the node (process ``node``): if it dies without stopping its workers
    (SIGKILL, a crash), they go too instead of lingering."""
    global _desk
    _desk = Desk(settings)
    setup_logging(settings.log)  # its lines look like the node's
    # Try it's simulated calls are not calls: their info lines stay out of the node's log
    logging.getLogger("agi_callbot").setLevel(logging.WARNING)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the node decides when workers stop
    with contextlib.suppress(OSError):
        os.nice(NICE)
    threading.Thread(target=_watch, args=(node,), name="node-watch", daemon=True).start()


def _watch(node: int) -> None:
    """Return only to end this process, when process ``node`` has ended."""
    try:
        handle = os.pidfd_open(node)
    except (AttributeError, OSError):
        handle = None
    if handle is not None:
        select.select([handle], [], [])  # readable once the process has exited
    else:
        while True:
            time.sleep(1.0)
            try:
                os.kill(node, 0)
            except ProcessLookupError:
                break
            except PermissionError:
                continue
    os._exit(0)


def perform(task: str, *args: Any) -> Any:
    """Run one task (a function of this module named in :data:`TASKS`)."""
    if _desk is None:
        raise RuntimeError("the console worker was not started")
    try:
        return TASKS[task](_desk, *args)
    except Conflict as exc:
        return Failure("Conflict", str(exc), {"current": exc.current, "version": exc.version})
    except Invalid as exc:
        return Failure("Invalid", str(exc), {"problems": exc.problems})
    except StoreError as exc:
        return Failure(type(exc).__name__, str(exc))
    except EditError as exc:
        return Failure("EditError", exc.message, {"line": exc.line})
    except tryit.TryError as exc:
        return Failure("TryError", exc.message)
    except FlowError as exc:
        return Failure("FlowError", str(exc))
    except CallbotError as exc:
        return Failure("CallbotError", str(exc))
    except TimeoutError as exc:  # a Try it call past its own limit: the worker is fine
        return Failure("TimeoutError", str(exc) or "timed out")


_KINDS: dict[str, Any] = {
    "Conflict": lambda m, d: Conflict(m, current=d["current"], version=d["version"]),
    "Invalid": lambda m, d: Invalid(d["problems"]),
    "NotFound": lambda m, d: NotFound(m),
    "Unwritable": lambda m, d: Unwritable(m),
    "EditError": lambda m, d: EditError(m, line=d.get("line", 0)),
    "TryError": lambda m, d: tryit.TryError(m),
    "FlowError": lambda m, d: FlowError(m),
    "CallbotError": lambda m, d: CallbotError(m),
    "TimeoutError": lambda m, d: TimeoutError(m),
}


def raise_again(failure: Failure) -> NoReturn:
    make = _KINDS.get(failure.kind, lambda m, d: StoreError(m))
    raise make(failure.message, failure.details)


# --------------------------------------------------------------------------- tasks


def ping(desk: Desk) -> int:
    return os.getpid()


def problems_of(checked: Checked) -> list[dict[str, Any]]:
    """The problems with the form field each one concerns (dotted YAML path)."""
    if not checked.problems:
        return []
    lines = paths_by_line(checked.text)
    return [
        {**p, "field": field_in(lines, p["line"]) if p["line"] else ""} for p in checked.problems
    ]


def check(desk: Desk, name: str, text: str) -> Checked:
    """What the store needs to publish ``text``: the verdict, problems at their fields."""
    found = desk.checked(name, text)
    return Checked(found.text, found.version, None, problems_of(found))


def verdict(desk: Desk, name: str, text: str) -> dict[str, Any]:
    """Loader + lint on a draft with the field of each problem and the block names."""
    checked = desk.checked(name, text)
    return {
        "version": checked.version,
        "state": checked.state,
        "problems": problems_of(checked),
        "blocks": block_names(text),
    }


def edited(desk: Desk, name: str, text: str, ops: list[dict[str, Any]]) -> dict[str, Any]:
    new_text = edit_text(text, ops)
    return {"yaml": new_text, **verdict(desk, name, new_text)}


def dot(desk: Desk, name: str, text: str) -> str | None:
    """The flow's drawing in Graphviz's language; None while the draft has errors."""
    flow = desk.checked(name, text).flow
    return None if flow is None else to_dot(flow)


def summaries(desk: Desk) -> list[dict[str, Any]]:
    """Every flow for the list: language, state, version, calls today, who calls it."""
    today = _calls_today(desk.settings)
    out = []
    for name in desk.store.names():
        try:
            text, version = desk.store.read(name)
            stat = desk.store.path(name).stat()
        except (StoreError, OSError):
            continue
        checked = desk.checked(name, text)
        flow = checked.flow
        out.append(
            {
                "name": name,
                "language": flow.language if flow else "",
                "description": flow.description if flow else "",
                "version": version,
                "state": checked.state,
                "errors": sum(p["severity"] == "error" for p in checked.problems),
                "warnings": sum(p["severity"] == "warning" for p in checked.problems),
                "changed": datetime.datetime.fromtimestamp(stat.st_mtime).strftime(
                    "%Y-%m-%d %H:%M"
                ),
                "subflows": list(flow.subflows()) if flow else [],
                "calls_today": today.get(name, 0),
            }
        )
    for item in out:
        item["called_by"] = [o["name"] for o in out if item["name"] in o["subflows"]]
    return out


def _calls_today(settings: Settings) -> dict[str, int]:
    path = settings.calls_db
    if not path.is_file():
        return {}
    midnight = datetime.datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
        try:
            rows = db.execute(
                "SELECT flow, COUNT(*) FROM calls WHERE started >= ? GROUP BY flow",
                (midnight.timestamp(),),
            ).fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return {}
    return {str(flow): int(count) for flow, count in rows}


def _tried_flow(desk: Desk, name: str, text: str | None) -> Any:
    if text is None:
        text, _ = desk.store.read(name)
    checked = desk.checked(name, text)
    if checked.flow is None:
        raise Invalid(problems_of(checked) or [{"message": "the flow has errors"}])
    return checked.flow


def try_call(desk: Desk, name: str, text: str | None, data: dict[str, Any]) -> dict[str, Any]:
    """A Try it run (:mod:`agi_callbot.console.tryit`) of the draft ``text`` or the saved
    flow: the transcript so far and the outcomes the tester may choose."""
    flow = _tried_flow(desk, name, text)
    tester = tryit.Tester.from_request(data)
    result = asyncio.run(tryit.run(flow, desk.store.library, desk.settings, tester))
    result["outcomes"] = tryit.outcomes_of(flow)
    return result


def save_case(desk: Desk, name: str, data: dict[str, Any], case_name: str) -> dict[str, Any]:
    """The tried call as a case of ``<flow>.test.yaml``: (file name, the case)."""
    from agi_callbot.console import cases

    flow = _tried_flow(desk, name, None)
    case = asyncio.run(cases.tried_case(flow, desk.store.library, desk.settings, data, case_name))
    path = desk.store.path(name).with_name(f"{desk.store.path(name).stem}.test.yaml")
    try:
        cases.append_case(path, name, case)
    except OSError as exc:
        raise Unwritable(f"cannot write {path.name}: {exc.strerror or exc}") from None
    return {"file": path.name, "case": case}


def flow_teams(desk: Desk) -> dict[str, dict[str, Any]]:
    from agi_callbot.console.teams import teams_in

    return teams_in(desk.store, desk.checked)


def prompts(desk: Desk, name: str) -> list[Any]:
    """The spoken texts of saved flow ``name`` (``agi-callbot prompts list``)."""
    from agi_callbot.flow.prompts import flow_prompts

    path = desk.store.path(name)
    if not path.is_file():
        raise NotFound(f"no flow named {name!r}")
    try:
        return flow_prompts(desk.store.library.load(path, name))
    except FlowError as exc:
        raise StoreError(f"flow {name!r} does not validate: {exc}") from None


def callers(desk: Desk, name: str) -> list[str]:
    from agi_callbot.console.callers import callers_of

    return callers_of(desk.store, name)


def rename_plan(desk: Desk, name: str, new_name: str, text: str) -> Any:
    from agi_callbot.console.callers import plan

    return plan(desk.store, name, new_name, text)


def copy_text(desk: Desk, source: str, name: str) -> str:
    """A duplicate of flow ``source`` named ``name`` (its ``flow:`` key follows)."""
    text, _ = desk.store.read(source)
    document = FlowDocument(text)
    document.set(["flow"], name)
    return document.text()


def inspector(desk: Desk, text: str, block: str, lang: str, values: dict[str, Any]) -> Any:
    """The form of one block of a draft, as HTML: (status, template, its values)."""
    from agi_callbot.console.pages import inspector_html

    return inspector_html(text, block, lang, values)


TASKS = {
    f.__name__: f
    for f in (
        ping, check, verdict, edited, dot, summaries, try_call, save_case, flow_teams,
        prompts, callers, rename_plan, copy_text, inspector,
    )
}  # fmt: skip
