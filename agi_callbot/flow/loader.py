"""Flow files → :class:`~agi_callbot.flow.model.Flow`, with ``file:line:col`` errors.

:func:`load_flow` reads one file: bytes, UTF-8, YAML nodes with their positions
(:mod:`~agi_callbot.flow.reader`), then the parsers of :mod:`~agi_callbot.flow.parse`
(one per block and action kind). Every error of a file is reported together
(:class:`~agi_callbot.flow.reader.InvalidFlow`).

:class:`FlowLibrary` maps flow names to files (``agi://host/<name>``) and hot-reloads.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agi_callbot.config import Defaults
from agi_callbot.errors import FlowError
from agi_callbot.flow import model as m
from agi_callbot.flow.lint import lint
from agi_callbot.flow.parse import FLOW_NAME, parse_flow
from agi_callbot.flow.parse.values import LANGUAGE
from agi_callbot.flow.reader import Reader, TooManyNodes, compose

log = logging.getLogger("agi_callbot.flow")

__all__ = ["LANGUAGE", "FlowLibrary", "check_name", "load_flow", "locate"]


def load_flow(
    path: Path,
    *,
    name: str | None = None,
    defaults: Defaults | None = None,
    max_steps: int = 500,
    flow_exists: Callable[[str], bool] | None = None,
    content: bytes | None = None,
) -> m.Flow:
    """Read and validate one flow file; raise :class:`FlowError` (every error of the file
    in :class:`InvalidFlow`). ``name`` is what the file must call itself (default: the
    file's stem); ``flow_exists`` checks subflow names (None: not checked)."""
    file = str(path)
    if content is None:
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise FlowError(f"cannot read flow: {exc.strerror or exc}", file=file) from exc
    try:
        source = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FlowError(f"not UTF-8 text (byte {exc.start})", file=file) from exc
    root = compose(source, file)
    if root is None:
        raise FlowError("the flow file is empty", file=file, line=1, column=1)
    version = hashlib.sha256(content).hexdigest()[:12]
    reader = Reader(file)
    try:
        flow = parse_flow(
            root,
            reader,
            path,
            version,
            name or path.stem,
            defaults or Defaults(),
            max_steps,
            flow_exists,
        )
    except TooManyNodes:
        raise FlowError("the flow file has too many YAML nodes (aliases?)", file=file) from None
    except RecursionError:
        raise FlowError("the flow file is nested too deeply", file=file) from None
    reader.raise_errors()
    assert flow is not None
    return flow


# --------------------------------------------------------------------------- library


def check_name(name: str) -> str:
    """A flow name as ``agi://host/<name>`` gives it, or FlowError."""
    if name.startswith("/") or ".." in name.split("/") or not re.fullmatch(FLOW_NAME, name):
        raise FlowError(
            f"invalid flow name {name!r}: letters, digits, _ and -, with / for subfolders"
        )
    return name


_DECLARED = re.compile(rb"^flow:[ \t]*[\"']?([A-Za-z0-9_/-]+)", re.MULTILINE)


def locate(path: Path, flows_dir: Path) -> tuple[Path, str]:
    """The library folder and flow name of a file given on the command line.

    Under ``flows_dir``: that folder and the relative name. Elsewhere, a file whose
    ``flow:`` key names it with subfolders (``common/outro`` in ``x/common/outro.yaml``)
    gets ``x`` as its folder; otherwise its own folder and its stem.
    """
    path = path.resolve()
    root = Path(flows_dir).resolve()
    if root in path.parents:
        return root, path.relative_to(root).with_suffix("").as_posix()
    try:
        declared = _DECLARED.search(path.read_bytes())
    except OSError:
        declared = None
    if declared:
        name = declared.group(1).decode()
        parts = name.split("/")
        stem = path.with_suffix("")
        if len(parts) > 1 and list(stem.parts[-len(parts) :]) == parts:
            return Path(*stem.parts[: -len(parts)]), name
    return path.parent, path.stem


@dataclass
class _Entry:
    """What the library serves for one name, and what it last saw on disk."""

    flow: m.Flow | None
    error: FlowError | None
    stat: tuple[int, int]
    digest: str


class FlowLibrary:
    """Flows by name from ``<flows_dir>/<name>.yaml``, loaded on first use, hot-reloaded.

    :meth:`get` returns the loaded :class:`~agi_callbot.flow.model.Flow`, an immutable
    object the call keeps (version pinning). :meth:`reload` (or the :meth:`watch` task)
    notices edits by size and mtime, then by content hash; a new version replaces the
    old one for new calls only if it validates, otherwise the old one keeps serving and
    one log line says why.
    """

    def __init__(
        self,
        flows_dir: Path,
        *,
        defaults: Defaults | None = None,
        max_steps: int = 500,
        settings: Any = None,
    ) -> None:
        self.flows_dir = Path(flows_dir)
        self.defaults = defaults or Defaults()
        self.max_steps = max_steps
        #: for lint at load (templates, hold music); None: those checks are skipped
        self.settings = settings
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any) -> FlowLibrary:
        return cls(
            settings.flows_dir,
            defaults=settings.defaults,
            max_steps=settings.flows.max_steps,
            settings=settings,
        )

    def path_for(self, name: str) -> Path:
        return self.flows_dir / f"{check_name(name)}.yaml"

    def exists(self, name: str) -> bool:
        try:
            return self.path_for(name).is_file()
        except FlowError:
            return False

    def names(self) -> list[str]:
        """Every flow file under the folder (test case files aside)."""
        if not self.flows_dir.is_dir():
            return []
        return sorted(
            p.relative_to(self.flows_dir).with_suffix("").as_posix()
            for p in self.flows_dir.rglob("*.yaml")
            if not p.name.endswith(".test.yaml")
        )

    def load(self, path: Path, name: str | None = None) -> m.Flow:
        """Validate one file with this library's defaults and subflows (``validate``)."""
        return load_flow(
            path,
            name=name,
            defaults=self.defaults,
            max_steps=self.max_steps,
            flow_exists=self.exists,
        )

    def get(self, name: str) -> m.Flow:
        """The current version of flow ``name``; FlowError if it is unknown or invalid."""
        entry = self._entries.get(name)
        if entry is None or entry.flow is None:
            entry = self._refresh(name, entry)
        if entry.flow is None:
            assert entry.error is not None
            raise entry.error
        return entry.flow

    def loaded(self, name: str) -> m.Flow | None:
        """The version of ``name`` already loaded, or ``None``: no disk access, never raises."""
        entry = self._entries.get(name)
        return None if entry is None else entry.flow

    def reload(self) -> list[str]:
        """Check every flow served so far; return the names whose version changed."""
        changed = []
        for name, entry in list(self._entries.items()):
            fresh = self._refresh(name, entry)
            if fresh is not entry and fresh.flow is not entry.flow:
                changed.append(name)
        return changed

    async def watch(self, interval: float = 1.0) -> None:
        """Poll for edits until cancelled (the server runs this as a task).

        A failure of one round (a folder briefly unreadable) is logged and the next
        round tries again: the task must not die quietly and freeze the flows.
        """
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(self.reload)
            except Exception:
                log.exception("flows: reload round failed; retrying in %ss", interval)

    def load_all(self) -> dict[str, FlowError]:
        """Load every flow now (start-up); the errors of those that did not load."""
        errors = {}
        for name in self.names():
            try:
                self.get(name)
            except FlowError as exc:
                errors[name] = exc
        return errors

    def _refresh(self, name: str, entry: _Entry | None) -> _Entry:
        path = self.path_for(name)
        try:
            stat = path.stat()
            signature = (stat.st_mtime_ns, stat.st_size)
            if entry is not None and signature == entry.stat:
                return entry
            content = path.read_bytes()
        except OSError as exc:
            return self._gone(name, entry, path, exc)
        digest = hashlib.sha256(content).hexdigest()
        if entry is not None and digest == entry.digest:
            entry.stat = signature
            return entry
        try:
            flow = load_flow(
                path,
                name=name,
                defaults=self.defaults,
                max_steps=self.max_steps,
                flow_exists=self.exists,
                content=content,
            )
        except FlowError as exc:
            fresh = _Entry(entry.flow if entry else None, exc, signature, digest)
            if fresh.flow is not None:
                log.warning(
                    "flow %s: not reloaded, version %s keeps serving: %s",
                    name,
                    fresh.flow.version,
                    exc,
                )
            else:
                log.warning("flow %s: not loaded: %s", name, exc)
        else:
            fresh = _Entry(flow, None, signature, digest)
            self._report(flow)
            if entry is not None and entry.flow is not None:
                log.info(
                    "flow %s: reloaded, version %s → %s", name, entry.flow.version, flow.version
                )
            else:
                log.info("flow %s: loaded, version %s", name, flow.version)
        with self._lock:
            self._entries[name] = fresh
        return fresh

    def _report(self, flow: m.Flow) -> None:
        """Lint runs on every load too: what ``validate`` would say, in one log line.

        Findings do not stop a version that passed the schema (a bounded loop still ends
        the call with a status); ``validate`` is where they fail a deployment.
        """
        try:
            findings = [f for f in lint(flow, self.settings) if f.severity != "note"]
        except Exception:  # a lint bug must not keep a valid flow from serving calls
            log.exception("flow %s: lint failed on version %s", flow.name, flow.version)
            return
        if findings:
            log.warning(
                "flow %s: version %s has %d lint finding(s), first: %s",
                flow.name, flow.version, len(findings), findings[0],
            )  # fmt: skip

    def _gone(self, name: str, entry: _Entry | None, path: Path, exc: OSError) -> _Entry:
        error = FlowError(f"no flow {name!r} ({path}: {exc.strerror or exc})", file=str(path))
        if entry is not None and entry.flow is not None:
            log.warning("flow %s: file removed, no longer served", name)
        with self._lock:
            self._entries.pop(name, None)
        return _Entry(None, error, (0, 0), "")
