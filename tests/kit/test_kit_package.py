"""The package: the kit built into it, one version, the changelog, the metadata.

The whole install as a user does it (``pipx install`` the wheel, ``init``, ``serve``…) is
``.ci/user-install``'s job; here the sdist and the wheel are built for real, in seconds.
"""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
import tarfile
import zipfile
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


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build`` as CI runs it (the wheel built from the sdist), without the
    network: the venv's setuptools (test extras) instead of an isolated one."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), ".", cwd=ROOT)
    return out


def test_the_wheel_carries_the_kit(dist: Path, tmp_path: Path):
    (wheel,) = dist.glob("agi_callbot-*.whl")
    prefix = "agi_callbot/kit/"
    with zipfile.ZipFile(wheel) as archive:
        built = {
            name[len(prefix) :]: archive.read(name)
            for name in archive.namelist()
            if name.startswith(prefix) and not name.endswith(".py")
        }
        archive.extractall(tmp_path / "site")
    assert built == kit_files()
    assert "sounds/moh/default/callbot-hold.ulaw" in built
    assert not [name for name in built if name.startswith("sounds/moh/ventas")]
    # the installed package finds its own copy, not a checkout, from anywhere
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    where = run(
        sys.executable, "-c", "import agi_callbot.kit as k; print(k.kit_root())",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert Path(where.strip()) == tmp_path / "site" / "agi_callbot" / "kit"


def test_a_checkout_finds_the_kit_at_its_top():
    assert kit.kit_root() == ROOT
    assert kit.asterisk_conf() == ROOT / "asterisk-conf"


def test_the_sdist_carries_the_kit_once(dist: Path):
    (archive,) = dist.glob("agi_callbot-*.tar.gz")
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
