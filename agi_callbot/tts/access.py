"""Can Asterisk's user read the prompt cache? (``prompts.delivery: local``)

With local delivery the node hands Asterisk an absolute path inside ``data_dir`` and
Asterisk opens the file itself, as its own user. That user must be able to enter every
folder on the way and read the files; when it cannot, STREAM FILE fails and the caller
hears silence, with nothing wrong on the callbot's side. ``agi-callbot doctor`` asks
this module when Asterisk runs on the same host.

The check reads permission bits (owner, group, others) the way the kernel applies them
to a process with that user id and those groups; ACLs and SELinux labels are not read.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

#: a cache holds thousands of files; this many are enough to spot a umask problem
MAX_FILES = 500


@dataclass(frozen=True)
class Account:
    """Who a process runs as: its name (for messages), user id and every group id."""

    name: str
    uid: int
    gids: frozenset[int]


def asterisk_account(
    proc: Path = Path("/proc"), etc: Path = Path("/etc/asterisk")
) -> Account | None:
    """Asterisk's account on this host: the running ``asterisk`` process's, else the
    ``asterisk`` user when Asterisk is installed here; None when there is no Asterisk."""
    running = _running(proc)
    if running is not None:
        return running
    if not (etc.is_dir() or shutil.which("asterisk")):
        return None
    try:
        entry = pwd.getpwnam("asterisk")
    except KeyError:
        return None
    gids = frozenset(os.getgrouplist(entry.pw_name, entry.pw_gid))
    return Account(entry.pw_name, entry.pw_uid, gids)


def _running(proc: Path) -> Account | None:
    try:
        entries = list(proc.iterdir())
    except OSError:
        return None
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "asterisk":
                continue
            status = (entry / "status").read_text()
        except OSError:
            continue  # the process ended meanwhile, or is not ours to read
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        uid = int(fields["Uid"].split()[1])  # effective
        gids = {int(fields["Gid"].split()[1]), *(int(g) for g in fields["Groups"].split())}
        return Account(_user_name(uid), uid, frozenset(gids))
    return None


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def allowed(info: os.stat_result, account: Account, bit: int) -> bool:
    """Whether ``account`` has permission ``bit`` (4 read, 1 enter/execute) on the file."""
    if account.uid == 0:
        return True
    if info.st_uid == account.uid:
        return bool(info.st_mode & (bit << 6))
    if info.st_gid in account.gids:
        return bool(info.st_mode & (bit << 3))
    return bool(info.st_mode & bit)


def problem(folder: Path, account: Account) -> str | None:
    """Why ``account`` cannot read the prompts in ``folder`` (None: it can)."""
    folder = folder.absolute()
    for step in [*reversed(folder.parents), folder]:
        try:
            info = step.stat()
        except FileNotFoundError:
            break  # not made yet: what exists so far is checked
        except OSError as exc:
            return f"cannot check {step}: {exc.strerror or exc}"
        if not allowed(info, account, 1):
            return f"{account.name} cannot enter {step} ({_shown(info)})"
    if not folder.is_dir():
        return None
    for count, path in enumerate(folder.iterdir()):
        if count >= MAX_FILES:
            break
        try:
            info = path.stat()
        except OSError:
            continue  # renamed or pruned meanwhile
        prompt = stat.S_ISREG(info.st_mode) and not path.name.startswith(".")
        if prompt and not allowed(info, account, 4):
            return f"{account.name} cannot read {path} ({_shown(info)})"
    return None


def _shown(info: os.stat_result) -> str:
    owner = _user_name(info.st_uid)
    try:
        group = grp.getgrgid(info.st_gid).gr_name
    except KeyError:
        group = str(info.st_gid)
    return f"{stat.filemode(info.st_mode)} {owner}:{group}"


def verdict(folder: Path, account: Account | None) -> tuple[bool | None, str]:
    """``doctor``'s row for local delivery: (True ok | False fail | None not checked, text)."""
    if account is None:
        return None, (
            f"no Asterisk on this host: with prompts.delivery local it must see {folder} "
            "at this same path (a shared volume) and be able to read it"
        )
    why = problem(folder, account)
    if why:
        return False, (
            f"{why}: callers would hear silence. Let {account.name} enter and read "
            "data_dir (chmod o+rx, or a group it shares), or use prompts.delivery http"
        )
    return True, f"{account.name} (Asterisk) can read {folder}"
