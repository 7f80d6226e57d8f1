"""Flows on disk for the console: validate, save atomically, keep history, refuse stale saves.

A flow's version is the content hash the engine pins calls to (the first 12 hex digits of
SHA-256 of the file). Every change states the version it started from (``base_version``):
a mismatch is a :class:`Conflict` carrying the current text, never a silent overwrite.
A text with errors is an :class:`Invalid` and the file is not touched. The version a
save replaces goes to ``<data_dir>/console/history/<name>/`` first (restore = save an
older text again), then the new text is written to a temporary file in the flows folder,
flushed and renamed over the old one, so the engine's hot reload never reads half a file
and calls in progress keep the version they pinned.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agi_callbot.config import Settings
from agi_callbot.errors import CallbotError, FlowError
from agi_callbot.flow import model as m
from agi_callbot.flow.lint import lint
from agi_callbot.flow.loader import FlowLibrary, check_name, load_flow

_ENTRY = re.compile(r"(\d{8}T\d{6}\d*)-([0-9a-f]{12})(-deleted)?\.yaml")


def version_of(content: bytes) -> str:
    """The engine's version of a flow file (as :func:`agi_callbot.flow.loader.load_flow`)."""
    return hashlib.sha256(content).hexdigest()[:12]


class StoreError(CallbotError):
    """A change the store refused; ``status`` is the HTTP answer the API gives."""

    status = 400


class NotFound(StoreError):
    status = 404


class Conflict(StoreError):
    """Someone saved since ``base_version``: the current text and version come along."""

    status = 409

    def __init__(self, message: str, *, current: str | None, version: str | None) -> None:
        super().__init__(message)
        self.current = current
        self.version = version


class Invalid(StoreError):
    """The text has errors; ``problems`` say where. Nothing was written."""

    status = 422

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        first = problems[0]["message"] if problems else "invalid flow"
        super().__init__(first)
        self.problems = problems


class Unwritable(StoreError):
    """The flows folder (or the history folder) cannot be written: nothing changed."""

    status = 503


@dataclass
class Checked:
    """A flow text and what the engine's loader and lint say about it."""

    text: str
    version: str
    flow: m.Flow | None
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def state(self) -> str:
        severities = {p["severity"] for p in self.problems}
        return "errors" if "error" in severities else "warnings" if severities else "valid"


class FlowStore:
    """The flows folder as the console sees it (the engine keeps its own library)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.flows_dir = Path(settings.flows_dir)
        self.history_dir = Path(settings.console_dir) / "history"
        self.library = FlowLibrary.from_settings(settings)
        self.max_bytes = settings.console.max_flow_bytes
        self._locks: dict[str, asyncio.Lock] = {}
        #: how a save checks a text: the console's worker processes; a thread without them
        self.checker: Callable[[str, str], Awaitable[Checked]] | None = None

    # ----------------------------------------------------------------- reading

    def path(self, name: str) -> Path:
        try:
            return self.flows_dir / f"{check_name(name)}.yaml"
        except FlowError as exc:
            raise StoreError(exc.message) from None

    def names(self) -> list[str]:
        return self.library.names()

    def read(self, name: str) -> tuple[str, str]:
        """(text, version) of flow ``name``."""
        path = self.path(name)
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"no flow named {name!r}") from None
        except OSError as exc:
            raise StoreError(f"cannot read {path.name}: {exc.strerror or exc}") from None
        return content.decode("utf-8", errors="replace"), version_of(content)

    def current_version(self, name: str) -> str | None:
        try:
            return version_of(self.path(name).read_bytes())
        except FileNotFoundError:
            return None

    def check(self, name: str, text: str) -> Checked:
        """What ``agi-callbot validate`` says about ``text`` as flow ``name``: loader
        errors, then lint findings, each with line, column, block and message."""
        content = text.encode("utf-8")
        version = version_of(content)
        if len(content) > self.max_bytes:
            message = f"the flow is {len(content):,} bytes; the limit is {self.max_bytes:,}"
            return Checked(text, version, None, [_problem("error", message)])
        path = self.path(name)
        try:
            flow = load_flow(
                path,
                name=name,
                defaults=self.settings.defaults,
                max_steps=self.settings.flows.max_steps,
                flow_exists=self.library.exists,
                content=content,
            )
        except FlowError as exc:
            errors = getattr(exc, "errors", (exc,))
            problems = [_problem("error", e.message, e.line, e.column, e.block) for e in errors]
            return Checked(text, version, None, problems)
        findings = lint(flow, self.settings, self.library)
        problems = [
            _problem(f.severity, f.message, f.line, f.column, f.block, f.rule) for f in findings
        ]
        return Checked(text, version, flow, problems)

    async def check_async(self, name: str, text: str) -> Checked:
        if self.checker is not None:
            return await self.checker(name, text)
        return await asyncio.to_thread(self.check, name, text)

    # ----------------------------------------------------------------- writing

    def lock(self, name: str) -> asyncio.Lock:
        """Held by every change of flow ``name`` (one writer at a time per flow)."""
        return self._locks.setdefault(name, asyncio.Lock())

    async def save(self, name: str, text: str, base_version: str | None) -> Checked:
        """Publish ``text`` as flow ``name``. ``base_version`` None creates a new flow
        (a Conflict if one exists)."""
        async with self.lock(name):
            checked = await self.check_async(name, text)
            current = self.current_version(name)
            if current != base_version:
                raise self.conflict(name, base_version)
            if checked.state == "errors":
                raise Invalid(checked.problems)
            if current == checked.version:
                return checked
            await self.replace(name, text)
            return checked

    async def delete(self, name: str, base_version: str | None) -> None:
        """Remove flow ``name``; its last version stays in the history (restorable)."""
        async with self.lock(name):
            current = self.current_version(name)
            if current is None:
                raise NotFound(f"no flow named {name!r}")
            if current != base_version:
                raise self.conflict(name, base_version)
            await self.remove(name)

    # The steps of a change, for callers that hold :meth:`lock` themselves (a rename
    # changes several flows at once: :mod:`agi_callbot.console.callers`).

    async def replace(self, name: str, text: str) -> None:
        """Write ``text`` as flow ``name``; the version it replaces goes to the history."""
        if self.current_version(name) is not None:
            await asyncio.to_thread(self._keep, name)
        await asyncio.to_thread(self._write, self.path(name), text.encode("utf-8"))

    async def write_new(self, name: str, text: str) -> None:
        if self.current_version(name) is not None:
            raise self.conflict(name, None)
        await asyncio.to_thread(self._write, self.path(name), text.encode("utf-8"))

    async def remove(self, name: str) -> None:
        """Delete flow ``name``'s file; its last version goes to the history first."""
        await asyncio.to_thread(self._keep, name, deleted=True)
        try:
            self.path(name).unlink()
        except OSError as exc:
            raise Unwritable(f"cannot delete {name}: {exc.strerror or exc}") from None

    def move_cases(self, name: str, new_name: str) -> None:
        """A renamed flow's test cases (``<name>.test.yaml``) follow it."""
        cases = self.flows_dir / f"{name}.test.yaml"
        if cases.is_file():
            target = self.path(new_name).with_name(f"{Path(new_name).name}.test.yaml")
            with contextlib.suppress(OSError):
                cases.rename(target)

    def conflict(self, name: str, base_version: str | None) -> Conflict:
        try:
            current, version = self.read(name)
        except NotFound:
            current = version = None
        if version is None:
            message = f"flow {name!r} was deleted since you opened it"
        elif base_version is None:
            message = f"a flow named {name!r} already exists"
        else:
            message = (
                f"flow {name!r} changed since you opened it (yours: {base_version}, "
                f"now: {version}): nothing was saved"
            )
        return Conflict(message, current=current, version=version)

    def _write(self, path: Path, content: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
        except OSError as exc:
            raise Unwritable(
                f"cannot write in {path.parent}: {exc.strerror or exc}; nothing was saved"
            ) from None
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise Unwritable(
                f"cannot write {path}: {exc.strerror or exc}; nothing was saved"
            ) from None

    # ----------------------------------------------------------------- history

    def _history(self, name: str) -> Path:
        return self.history_dir / check_name(name)

    def _keep(self, name: str, *, deleted: bool = False) -> None:
        try:
            content = self.path(name).read_bytes()
        except FileNotFoundError:
            return
        folder = self._history(name)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"{time.time_ns() % 10**9:09d}"
        entry = folder / f"{stamp}-{version_of(content)}{'-deleted' if deleted else ''}.yaml"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._write(entry, content)
        except (OSError, Unwritable) as exc:
            raise Unwritable(f"cannot keep the previous version in {folder}: {exc}") from None
        entries = sorted(folder.glob("*.yaml"))
        for old in entries[: max(len(entries) - self.settings.console.history, 0)]:
            with contextlib.suppress(OSError):
                old.unlink()

    def history(self, name: str) -> list[dict[str, Any]]:
        """Earlier versions, newest first: id, version, saved (UTC), size, deleted."""
        folder = self._history(name)
        out = []
        for path in sorted(folder.glob("*.yaml"), reverse=True) if folder.is_dir() else []:
            found = _ENTRY.fullmatch(path.name)
            if not found:
                continue
            stamp = found.group(1)
            out.append(
                {
                    "id": path.stem,
                    "version": found.group(2),
                    "saved": f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]} "
                    f"{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]} UTC",
                    "size": path.stat().st_size,
                    "deleted": bool(found.group(3)),
                }
            )
        return out

    def history_text(self, name: str, entry: str) -> str:
        if not _ENTRY.fullmatch(entry + ".yaml"):
            raise NotFound(f"no version {entry!r} in the history of {name!r}")
        path = self._history(name) / f"{entry}.yaml"
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            raise NotFound(f"no version {entry!r} in the history of {name!r}") from None

    async def restore(self, name: str, entry: str, base_version: str | None) -> Checked:
        return await self.save(name, self.history_text(name, entry), base_version)

    def deleted(self) -> list[str]:
        """Names of flows whose file is gone but whose history is kept."""
        if not self.history_dir.is_dir():
            return []
        live = set(self.names())
        names = {
            p.parent.relative_to(self.history_dir).as_posix()
            for p in self.history_dir.rglob("*.yaml")
        }
        return sorted(names - live)


def _problem(
    severity: str,
    message: str,
    line: int = 0,
    column: int = 0,
    block: str = "",
    rule: str = "",
) -> dict[str, Any]:
    return {
        "severity": severity,
        "message": message,
        "line": line,
        "column": column,
        "block": block,
        "rule": rule,
        "field": "",
    }
