"""The package: the kit built into it, one version, the changelog, the metadata.

The whole install as a user does it (wheel into a fresh venv, ``init``, ``serve``…) is
``.ci/run``'s job; here the build step and the sdist are run for real, in seconds.
"""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from agi_callbot import __version__, kit
from agi_callbot.cli import main

ROOT = Path(__file__).resolve().parents[2]


def kit_files() -> dict[str, bytes]:
    """Every file the kit folders hold in the checkout (links and run-time data aside)."""
    files = {}
    for folder in kit.FOLDERS:
        for path in (ROOT / folder).rglob("*"):
            relative = path.relative_to(ROOT)
            if path.is_symlink() or not path.is_file() or kit.SKIPPED & set(relative.parts):
                continue
            files[relative.as_posix()] = path.read_bytes()
    return files


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_build_step_puts_the_kit_into_the_package(tmp_path: Path):
    build = tmp_path / "lib"
    run(sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(build), cwd=ROOT)
    package = build / "agi_callbot" / "kit"
    built = {
        p.relative_to(package).as_posix(): p.read_bytes()
        for p in package.rglob("*")
        if p.is_file() and p.suffix != ".py"
    }
    assert built == kit_files()
    assert "sounds/moh/default/callbot-hold.ulaw" in built
    assert not [name for name in built if name.startswith("sounds/moh/ventas")]
    # the built package finds its own copy, not the checkout, from anywhere
    env = {**os.environ, "PYTHONPATH": str(build)}
    where = run(
        sys.executable, "-c", "import agi_callbot.kit as k; print(k.kit_root())",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert Path(where.strip()) == package


def test_a_checkout_finds_the_kit_at_its_top():
    assert kit.kit_root() == ROOT
    assert kit.asterisk_conf() == ROOT / "asterisk-conf"


def test_the_sdist_carries_the_kit_once(tmp_path: Path):
    run(sys.executable, "setup.py", "-q", "sdist", "-d", str(tmp_path), "--formats=gztar",
        cwd=ROOT)  # fmt: skip
    (archive,) = tmp_path.glob("agi[-_]callbot-*.tar.gz")
    with tarfile.open(archive) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for name in kit_files():
        assert name in names, name
    for name in ("setup.py", "setup.cfg", "pyproject.toml", "LICENSE", "CHANGELOG.md"):
        assert name in names, name
    # the teams' music links would be 3 MB copies each; init and export remake them
    assert not [n for n in names if n.startswith(("sounds/moh/ventas", "examples/var"))]
    assert archive.stat().st_size < 4_000_000


def test_one_version():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert cfg["metadata"]["version"] == "attr: agi_callbot.__version__"
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)


def test_version_option(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"agi-callbot {__version__}"


def test_the_changelog_keeps_a_changelog_and_names_this_version():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", text, re.M)
    assert headings[0] == ("Unreleased", "")
    released = [version for version, date in headings[1:] if date]
    assert len(released) == len(headings) - 1, "every release heading has its date"
    assert released[0] == __version__
    for version, _ in headings:
        assert re.search(rf"^\[{re.escape(version)}\]: https://", text, re.M), version
    for kind in re.findall(r"^### (.+)$", text, re.M):
        assert kind in {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def test_the_metadata_is_complete():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    meta, options = cfg["metadata"], cfg["options"]
    assert meta["license"] == "MIT" and (ROOT / meta["license_files"]).is_file()
    assert {"Source", "Changelog", "Issues"} <= {
        line.split("=")[0].strip() for line in meta["project_urls"].strip().splitlines()
    }
    classifiers = meta["classifiers"]
    assert "Topic :: Communications :: Telephony" in classifiers
    assert f"Python :: {sys.version_info.major}.{sys.version_info.minor}" in classifiers
    assert options["python_requires"] == ">=3.11"
