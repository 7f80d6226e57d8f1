"""Issue 14.6: a configuration that cannot work stops ``serve`` with one line naming the
setting and the fix, exit status 2, no traceback.

Found: FastAGI port in use → a 10-frame OSError traceback; a ``data_dir`` that is a file
→ 28 lines of traceback; a missing flows folder started a "ready" server with 0 flows.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FLOW = 'flow: hi\nlanguage: en\nblocks:\n  hi: {hangup: {message: "Hi."}}\n'


def serve(tmp_path: Path, **settings: object) -> subprocess.CompletedProcess[str]:
    flows = tmp_path / "flows"
    if not flows.exists():
        flows.mkdir()
        (flows / "hi.yaml").write_text(FLOW)
    values = {
        "data_dir": str(tmp_path / "var"),
        "flows_dir": str(flows),
        "listen": {"port": 0},
        "http": {"enabled": False},
        "tts": {"recordings_dir": str(tmp_path / "rec")},
        **settings,
    }
    import yaml

    config = tmp_path / "callbot.yaml"
    config.write_text(yaml.safe_dump(values))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CALLBOT_CONFIG", None)
    try:
        return subprocess.run(
            [sys.executable, "-m", "agi_callbot", "--config", str(config), "serve"],
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
            cwd=tmp_path,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"serve started instead of refusing: {exc.stderr!r}")


def refused(done: subprocess.CompletedProcess[str], *words: str) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, (done.returncode, done.stderr[-3000:])
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    errors = [line for line in lines if line.startswith("agi-callbot:")]
    assert len(errors) == 1, lines
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


def test_fastagi_port_in_use(tmp_path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = refused(serve(tmp_path, listen={"port": port}), "listen.port", str(port))
    assert "in use" in line


def test_data_dir_is_a_file(tmp_path) -> None:
    (tmp_path / "var").write_text("not a folder")
    refused(serve(tmp_path), "data_dir", "not a folder")


def test_data_dir_cannot_be_written(tmp_path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    (tmp_path / "var").mkdir(mode=0o500)
    refused(serve(tmp_path), "data_dir")


def test_missing_flows_folder(tmp_path) -> None:
    (tmp_path / "flows").mkdir()
    refused(serve(tmp_path, flows_dir=str(tmp_path / "nowhere")), "flows_dir", "nowhere")


def test_flows_folder_without_flows(tmp_path) -> None:
    (tmp_path / "flows").mkdir()
    refused(serve(tmp_path), "flows_dir", "no flow")
