"""Can Asterisk's user read the prompt cache? Real folders, real modes, real ``stat``."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from agi_callbot.cli.doctor.node import check_prompt_access
from agi_callbot.cli.doctor.report import FAIL, OK, SKIP
from agi_callbot.config import load_settings
from agi_callbot.tts.access import Account, asterisk_account, problem

NOBODY = Account("nobody", 65534, frozenset({65534}))


@pytest.fixture
def data_dir():
    """A data folder under /tmp that others may enter (pytest's own tmp_path is 0700)."""
    root = Path(tempfile.mkdtemp(prefix="callbot-access-", dir="/tmp"))
    root.chmod(0o755)
    prompts = root / "prompts"
    prompts.mkdir(mode=0o755)
    prompts.chmod(0o755)
    (prompts / "a.sln16").write_bytes(b"\0\0")
    (prompts / "a.sln16").chmod(0o644)
    yield root
    shutil.rmtree(root)


def test_a_world_readable_cache_is_fine(data_dir):
    assert problem(data_dir / "prompts", NOBODY) is None


def test_a_private_data_dir_is_named(data_dir):
    data_dir.chmod(0o700)
    why = problem(data_dir / "prompts", NOBODY)
    assert why is not None
    assert why.startswith(f"nobody cannot enter {data_dir} (drwx------ ")


def test_a_private_prompt_file_is_named(data_dir):
    (data_dir / "prompts" / "a.sln16").chmod(0o600)
    why = problem(data_dir / "prompts", NOBODY)
    assert why is not None
    assert why.startswith(f"nobody cannot read {data_dir / 'prompts' / 'a.sln16'} (-rw------- ")


def test_temporary_files_being_written_do_not_count(data_dir):
    (data_dir / "prompts" / ".tmp-123.sln16").write_bytes(b"")
    (data_dir / "prompts" / ".tmp-123.sln16").chmod(0o600)
    assert problem(data_dir / "prompts", NOBODY) is None


def test_a_shared_group_is_enough(data_dir):
    data_dir.chmod(0o750)
    (data_dir / "prompts" / "a.sln16").chmod(0o640)
    stranger = Account("asterisk", 65534, frozenset({65534}))
    member = Account("asterisk", 65534, frozenset({65534, data_dir.stat().st_gid}))
    assert problem(data_dir / "prompts", stranger) is not None
    assert problem(data_dir / "prompts", member) is None


def test_root_reads_everything(data_dir):
    data_dir.chmod(0o700)
    assert problem(data_dir / "prompts", Account("root", 0, frozenset({0}))) is None


def test_a_cache_not_made_yet_checks_the_folders_that_exist(data_dir):
    shutil.rmtree(data_dir / "prompts")
    assert problem(data_dir / "prompts", NOBODY) is None
    data_dir.chmod(0o700)
    assert "cannot enter" in (problem(data_dir / "prompts", NOBODY) or "")


def test_the_running_asterisk_process_is_found(tmp_path):
    proc = tmp_path / "proc"
    for pid, comm in (("1", "systemd"), ("812", "asterisk"), ("self", "python")):
        (proc / pid).mkdir(parents=True)
        (proc / pid / "comm").write_text(comm + "\n")
        (proc / pid / "status").write_text(
            "Name:\tx\nUid:\t1000\t107\t107\t107\nGid:\t1000\t112\t112\t112\nGroups:\t20 29 112 \n"
        )
    account = asterisk_account(proc, etc=tmp_path / "no-etc")
    assert account is not None
    assert (account.uid, account.gids) == (107, frozenset({112, 20, 29}))


def test_no_asterisk_on_this_host(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no asterisk binary either
    assert asterisk_account(tmp_path / "proc", etc=tmp_path / "no-etc") is None


def settings_for(data_dir: Path, delivery: str = "local"):
    settings = load_settings(environ={"CALLBOT_DATA_DIR": str(data_dir)})
    return dataclasses.replace(
        settings, prompts=dataclasses.replace(settings.prompts, delivery=delivery)
    )


def test_doctor_row_fails_with_what_to_do(data_dir):
    data_dir.chmod(0o700)
    (check,) = check_prompt_access(settings_for(data_dir), NOBODY)
    assert (check.name, check.status) == ("prompt access", FAIL)
    assert check.detail.startswith(f"nobody cannot enter {data_dir}")
    assert "callers would hear silence" in check.detail
    assert "prompts.delivery http" in check.detail


def test_doctor_row_ok_and_skip(data_dir):
    (ok,) = check_prompt_access(settings_for(data_dir), NOBODY)
    assert (ok.status, ok.detail) == (OK, f"nobody (Asterisk) can read {data_dir / 'prompts'}")
    (skip,) = check_prompt_access(settings_for(data_dir), None)
    assert skip.status == SKIP and "no Asterisk on this host" in skip.detail
    assert check_prompt_access(settings_for(data_dir, "http"), NOBODY) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs to be root to become another user")
def test_the_verdict_matches_what_the_kernel_lets_another_user_do(data_dir):
    """Cross-check with a real open() as nobody, in a child process."""
    for mode in (0o700, 0o711, 0o755):
        data_dir.chmod(mode)
        pid = os.fork()
        if pid == 0:  # the child: become nobody and try
            try:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
                with open(data_dir / "prompts" / "a.sln16", "rb"):
                    pass
            except OSError:
                os._exit(1)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        kernel_allows = os.waitstatus_to_exitcode(status) == 0
        assert (problem(data_dir / "prompts", NOBODY) is None) == kernel_allows, oct(mode)
