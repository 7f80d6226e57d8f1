"""Classic AGI (``agi-callbot agi FLOW`` on stdin/stdout) fed broken or hostile input.

Asterisk's ``AGI(agi-callbot,agi,soporte)`` starts the process with the call on its
stdin/stdout. Whatever arrives there — a truncated env block, random bytes, replies out of
order, ``HANGUP`` anywhere, a 520 block cut short, CRLF, oversized lines, an early EOF —
the process must end on its own (exit 0 when the call ran, 1 when no env block could be
read), write only AGI command lines on stdout (anything else would be read by Asterisk
as a command), and only JSON log lines on stderr, with no traceback of an exception
other than the engine's own (a ValueError or KeyError there escaped from somewhere).
Inputs come from seeded generators: a failure names the seed.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from asterisk_peer import HANDLED, ROOT, env_block

from agi_callbot.agi.commands import parse_command

SEED = 8_4573
REPLIES = [
    b"200 result=0\n",
    b"200 result=1\n",
    b"200 result=-1\n",
    b"200 result=12\n",
    b"200 result=0 endpos=16000\n",
    b"200 result=1 (Ana)\n",
    b"200 result= (timeout)\n",
    b"510 Invalid or unknown command\n",
    b"511 Command Not Permitted on a dead channel or intercept routine\n",
    b"520-Invalid command syntax.  Proper usage follows:\nUsage: X\n520 End of proper usage.\n",
    b"HANGUP\n",
    b"\n",
    b"200 result=99999999999999999999\n",
]


def stdin_for(n: int) -> bytes:
    """The bytes Asterisk (or something broken) sends for input ``n``."""
    rng = random.Random(SEED + n)
    env = env_block(n, script="soporte")
    kind = n % 8
    if kind == 0:
        return env[: rng.randint(0, len(env) - 1)]
    if kind == 1:
        return rng.randbytes(rng.choice((1, 64, 5000, 70000)))
    if kind == 2:
        return env + b"".join(rng.choices(REPLIES, k=rng.randint(0, 40)))
    if kind == 3:
        replies = [b"200 result=0\n"] * rng.randint(0, 12)
        replies.insert(rng.randint(0, len(replies)), b"HANGUP\n")
        dead = [b"511 Command Not Permitted on a dead channel or intercept routine\n"] * 10
        return env + b"".join(replies) + b"".join(dead)
    if kind == 4:
        return env + b"520-Invalid command syntax.  Proper usage follows:\n" + b"usage\n" * 500
    if kind == 5:
        return env.replace(b"\n", b"\r\n") + b"200 result=0\r\n" * 20
    if kind == 6:
        return env[:-1] + b"agi_calleridname: " + b"A" * 70000 + b"\n\n" + b"200 result=0\n" * 5
    return env  # env, then EOF: Asterisk went away before the first reply


def run_classic(data: bytes, data_dir: Path) -> subprocess.CompletedProcess[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CALLBOT_DATA_DIR": str(data_dir),
        "CALLBOT_LOG__FORMAT": "json",
        "CALLBOT_LISTEN__REPLY_TIMEOUT": "1",
        "CALLBOT_LISTEN__ENV_TIMEOUT": "1",
    }
    argv = [sys.executable, "-m", "agi_callbot", "--config", "examples/callbot.yaml"]
    return subprocess.run(
        [*argv, "agi", "soporte"], input=data, capture_output=True, cwd=ROOT, env=env, timeout=60
    )


#: inputs whose env block is complete and well formed: the call must run (exit 0);
#: without one the process exits 1 (AGISTATUS=FAILURE, the dialplan fails over)
WELL_FORMED_ENV = {2, 3, 4, 7}


def check(n: int, data_dir: Path) -> None:
    done = run_classic(stdin_for(n), data_dir)
    where = f"input {n} (seed {SEED + n})"
    allowed = {0} if n % 8 in WELL_FORMED_ENV else {0, 1}
    assert done.returncode in allowed, f"{where}: exit {done.returncode}: {done.stderr[-2000:]!r}"
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        parse_command(line)  # raises for what Asterisk would misread
    for line in done.stderr.decode("utf-8", "replace").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"{where}: stderr line that is not a log line: {line[:300]!r}")
        if entry.get("exc"):
            assert HANDLED.search(entry["exc"].rstrip()), f"{where}: {entry}"
        assert entry["level"] != "critical", f"{where}: {entry}"


@pytest.mark.parametrize("n", range(16))
def test_classic_agi_ends_cleanly_on_broken_input(n: int, tmp_path_factory) -> None:
    check(n, tmp_path_factory.getbasetemp() / "classic-var")


@pytest.mark.slow
def test_classic_agi_ends_cleanly_on_200_broken_inputs(tmp_path: Path) -> None:
    for n in range(16, 216):
        check(n, tmp_path / "var")
