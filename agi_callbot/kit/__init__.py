"""The kit: the Asterisk configuration, sounds and example flows agi-callbot ships.

Their one source is the repository's top-level folders ``asterisk-conf/``, ``sounds/``
and ``examples/``. Building the wheel copies them into this package
(:func:`copy_kit`, called by ``setup.py``'s build step), so an installed package finds
them next to this file; a checkout (``pip install -e .``) finds them two folders up.
No second copy is ever committed.

This module imports only the standard library: ``setup.py`` loads it at build time,
before any dependency is installed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

#: the repository folders that make the kit, as they are named in the package too
FOLDERS = ("asterisk-conf", "sounds", "examples")
#: never part of the kit: runtime data of `make run`, caches
SKIPPED = frozenset({"var", "__pycache__", ".pytest_cache"})


class KitMissing(RuntimeError):
    """Neither the installed package nor a checkout holds the kit's folders."""


def kit_root() -> Path:
    """The folder holding ``asterisk-conf/``, ``sounds/`` and ``examples/``."""
    here = Path(__file__).resolve().parent
    for root in (here, here.parents[1]):
        if all((root / name).is_dir() for name in FOLDERS):
            return root
    raise KitMissing(
        f"the kit's files ({', '.join(FOLDERS)}) are neither in {here} nor in a checkout "
        "around it: reinstall agi-callbot from its wheel or sdist"
    )


def asterisk_conf() -> Path:
    return kit_root() / "asterisk-conf"


def sounds() -> Path:
    return kit_root() / "sounds"


def examples() -> Path:
    return kit_root() / "examples"


def copy_tree(source: Path, target: Path) -> list[Path]:
    """Copy the regular files under ``source`` into ``target``, keeping the layout.

    Symbolic links are left out (the team hold-music links are remade where they are
    needed, see :func:`agi_callbot.kit.moh.link_team_music`), and so are
    :data:`SKIPPED` folders. Returns the files written.
    """
    written: list[Path] = []
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if SKIPPED.intersection(relative.parts) or path.is_symlink() or not path.is_file():
            continue
        out = target / relative
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, out)
        written.append(out)
    return written


def copy_kit(repository: Path, package: Path) -> list[Path]:
    """The build step: the repository's kit folders into the built package folder."""
    written: list[Path] = []
    for name in FOLDERS:
        if not (repository / name).is_dir():
            raise KitMissing(f"{repository / name}: the kit's folder is missing from the source")
        written += copy_tree(repository / name, package / name)
    return written
