"""The prompt cache: content-addressed files, written atomically, rendered once.

A prompt's key is the SHA-256 of everything its audio depends on (text, engine, voice,
options, pipeline version), so a file name never changes meaning: Asterisk may keep a
URL forever and several nodes may share the folder. Files are ``<key>.<ext>`` (what
Asterisk opens by ``<dir>/<key>`` without extension) plus ``<key>.json`` describing
them for ``prompts list``.

Every file is written under a temporary name in the same folder and renamed into place
(atomic on POSIX), after an fsync: a reader, another node or a crash never sees a
partial or empty file. Concurrent requests for the same file share one render (single
flight); a warm lookup is one ``stat`` — no subprocess, no lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import stat
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from agi_callbot.errors import ConfigError, PromptError

TEMP_PREFIX = ".tmp-"
KEY_LENGTH = 64
_HEX = "0123456789abcdef"


def prompt_key(parts: Mapping[str, Any]) -> str:
    """The content hash: canonical JSON of what the audio depends on."""
    canonical = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def is_key(text: str) -> bool:
    """A content key: 64 lower-case hex digits (``strip`` of them leaves nothing)."""
    return len(text) == KEY_LENGTH and not text.strip(_HEX)


@dataclass(frozen=True)
class CacheEntry:
    """One prompt in the cache: its formats on disk and what it says."""

    key: str
    formats: tuple[str, ...]
    size: int
    mtime: float
    meta: dict[str, Any]


class PromptCache:
    """Files of one folder, by key and format."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root = str(root)
        self._flights: dict[tuple[str, str], asyncio.Future[Path]] = {}
        #: how many renders actually ran (a joined flight or a hit does not count)
        self.renders = 0

    def check_writable(self) -> None:
        """Fail at start-up, with the folder named, rather than on the first caller."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f"{TEMP_PREFIX}probe-{os.getpid()}-{secrets.token_hex(4)}"
            probe.write_bytes(b"probe")
            os.replace(probe, probe.with_name(probe.name + ".renamed"))
            probe.with_name(probe.name + ".renamed").unlink()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise ConfigError(f"prompt cache {self.root} is not writable: {reason}") from exc

    def path(self, key: str, ext: str) -> Path:
        return self.root / f"{key}.{ext}"

    def stem(self, key: str) -> Path:
        """What Asterisk is given for local delivery: the path without extension."""
        return self.root / key

    def stem_text(self, key: str) -> str:
        """:meth:`stem` as text, built without a Path (every play of a warm prompt)."""
        return os.path.join(self._root, key)

    def lookup(self, key: str, ext: str) -> bool:
        """Is this file there? The whole warm path: one ``lstat``, no Path objects.

        Only a regular file counts: a symlink or anything else planted in the folder is
        neither served, converted nor copied out (it could point at ``/etc/passwd``).
        """
        return self.size(key, ext) > 0

    def size(self, key: str, ext: str) -> int:
        """Bytes of this file, from the same single ``lstat`` as :meth:`lookup` (0: not
        there, empty, or not a regular file)."""
        try:
            info = os.lstat(f"{self._root}/{key}.{ext}")
        except OSError:
            return 0
        return info.st_size if stat.S_ISREG(info.st_mode) else 0

    def open(self, key: str, ext: str) -> BinaryIO:
        """The file for reading, opened without following a link (``O_NOFOLLOW``) and
        checked to be a regular file, so a link swapped in after :meth:`lookup` is
        refused too. ``FileNotFoundError`` when it is not a prompt file."""
        path = f"{self._root}/{key}.{ext}"
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:  # ELOOP: a symlink
            raise FileNotFoundError(f"{path}: not a prompt file ({exc.strerror})") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise FileNotFoundError(f"{path}: not a regular file")
        return os.fdopen(fd, "rb")

    def read(self, key: str, ext: str) -> bytes:
        with self.open(key, ext) as file:
            return file.read()

    async def produce(
        self,
        key: str,
        ext: str,
        render: Callable[[Path], Awaitable[Any]],
        on_commit: Callable[[Path], Any] | None = None,
    ) -> Path:
        """Return the file, rendering it with ``render(temp_path)`` unless it exists.

        Concurrent callers for the same file await the same render, and ``on_commit``
        runs once, after the file is in place. The render is shielded: a caller who
        hangs up does not cancel it for the others (the file is useful to the next call).
        """
        final = self.path(key, ext)
        if self.lookup(key, ext):
            return final
        flight = self._flights.get((key, ext))
        if flight is None:
            flight = asyncio.ensure_future(self._render(final, render, on_commit))
            self._flights[(key, ext)] = flight
            flight.add_done_callback(lambda done: self._landed(key, ext, done))
        return await asyncio.shield(flight)

    def _landed(self, key: str, ext: str, flight: asyncio.Future[Path]) -> None:
        self._flights.pop((key, ext), None)
        if not flight.cancelled():
            flight.exception()  # retrieved here so an unawaited failure is not logged twice

    async def _render(
        self,
        final: Path,
        render: Callable[[Path], Awaitable[Any]],
        on_commit: Callable[[Path], Any] | None,
    ) -> Path:
        self.renders += 1
        temp = final.with_name(f"{TEMP_PREFIX}{final.name}.{os.getpid()}.{secrets.token_hex(4)}")
        try:
            await render(temp)
            await asyncio.to_thread(_commit, temp, final)  # fsync off the event loop
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
        if on_commit is not None:
            on_commit(final)
        return final

    def write_meta(self, key: str, meta: Mapping[str, Any]) -> None:
        """Describe a prompt (text, engine, language…) for ``prompts list``; atomic too."""
        final = self.path(key, "json")
        temp = final.with_name(f"{TEMP_PREFIX}{final.name}.{os.getpid()}.{secrets.token_hex(4)}")
        try:
            temp.write_text(json.dumps(dict(meta), ensure_ascii=False, sort_keys=True))
            _commit(temp, final)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise PromptError(f"cannot write {final}: {exc.strerror}") from exc

    def read_meta(self, key: str) -> dict[str, Any]:
        try:
            data = json.loads(self.path(key, "json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def formats(self, key: str) -> list[str]:
        """Audio formats on disk for a key (its ``.json`` aside)."""
        prefix = key + "."
        return sorted(
            name[len(prefix) :]
            for name in os.listdir(self.root)
            if name.startswith(prefix) and not name.endswith(".json")
        )

    def entries(self) -> Iterator[CacheEntry]:
        """Every prompt in the folder, grouped by key."""
        groups: dict[str, list[os.DirEntry[str]]] = {}
        with os.scandir(self.root) as scan:
            for entry in scan:
                key, dot, _ = entry.name.partition(".")
                if dot and is_key(key) and entry.is_file(follow_symlinks=False):
                    groups.setdefault(key, []).append(entry)
        for key, files in sorted(groups.items()):
            stats = [f.stat() for f in files]
            formats = tuple(sorted(f.name[len(key) + 1 :] for f in files))
            yield CacheEntry(
                key=key,
                formats=tuple(f for f in formats if f != "json"),
                size=sum(s.st_size for s in stats),
                mtime=max(s.st_mtime for s in stats),
                meta=self.read_meta(key) if "json" in formats else {},
            )

    def remove(self, key: str) -> int:
        """Delete every file of a prompt; returns the bytes freed."""
        freed = 0
        for ext in [*self.formats(key), "json"]:
            path = self.path(key, ext)
            with contextlib.suppress(FileNotFoundError):
                freed += path.stat().st_size
                path.unlink()
        return freed

    def remove_stale_temps(self, older_than: float) -> int:
        """Temporary files a killed process left behind (never a live render's)."""
        limit = time.time() - older_than
        removed = 0
        with os.scandir(self.root) as scan:
            for entry in scan:
                if entry.name.startswith(TEMP_PREFIX) and entry.stat().st_mtime < limit:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
                        removed += 1
        return removed


def _commit(temp: Path, final: Path) -> None:
    """fsync then rename: after a crash the name points at complete data or at nothing."""
    if temp.stat().st_size == 0:
        raise PromptError(f"refusing to store an empty file as {final.name}")
    fd = os.open(temp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, final)
