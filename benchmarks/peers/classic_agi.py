"""A classic AGI script the way pyst2 writes them: one Python process per call.

    classic_agi.py N      (stdin/stdout are the call, as Asterisk's AGI() gives them)

pyst2's ``AGI`` class reads the environment from stdin at start-up, writes each command
to stdout with a flush, reads the reply line and parses it with a regular expression;
a SIGHUP handler notes the hangup. This is that, trimmed to what the benchmark runs:
N ``NOOP`` commands, then exit (which ends the call).
"""

from __future__ import annotations

import re
import signal
import sys

RE_CODE = re.compile(r"(^\d*)\s*(.*)")
RE_KV = re.compile(r"(?P<key>\w+)=(?P<value>[^\s]+)\s*(?:\((?P<data>.*)\))*")


class AGI:
    def __init__(self) -> None:
        self.env: dict[str, str] = {}
        self.got_sighup = False
        signal.signal(signal.SIGHUP, self._handle_sighup)
        self._get_agi_env()

    def _get_agi_env(self) -> None:
        while True:
            line = sys.stdin.readline().strip()
            if not line:
                break
            key, _, value = line.partition(":")
            self.env[key.strip()] = value.strip()

    def _handle_sighup(self, signum: int, frame: object) -> None:
        self.got_sighup = True

    def execute(self, command: str, *args: str) -> dict[str, tuple[str, str]]:
        line = " ".join([command, *(f'"{a}"' for a in args)])
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        return self.get_result()

    def get_result(self) -> dict[str, tuple[str, str]]:
        line = sys.stdin.readline().strip()
        match = RE_CODE.search(line)
        code = int(match.group(1)) if match and match.group(1) else 0
        result: dict[str, tuple[str, str]] = {}
        if code == 200:
            for kv in RE_KV.finditer(match.group(2) if match else ""):
                result[kv.group("key")] = (kv.group("value"), kv.group("data") or "")
        return result


def main() -> None:
    agi = AGI()
    for _ in range(int(sys.argv[1])):
        agi.execute("NOOP")


if __name__ == "__main__":
    main()
