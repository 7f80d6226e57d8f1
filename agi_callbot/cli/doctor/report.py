"""The doctor's table: one :class:`Check` a row (``ok``, ``warn``, ``FAIL``, ``skip``),
printed as aligned text or one JSON object a line."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TextIO

OK, WARN, FAIL, SKIP = "ok", "warn", "FAIL", "skip"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str


def report(checks: list[Check], out: TextIO, *, as_json: bool = False) -> None:
    if as_json:
        for check in checks:
            out.write(json.dumps(asdict(check), ensure_ascii=False) + "\n")
        return
    width = max(len(c.name) for c in checks)
    out.write(f"{'CHECK'.ljust(width)}  STATUS  DETAIL\n")
    for check in checks:
        out.write(f"{check.name.ljust(width)}  {check.status.ljust(6)}  {check.detail}\n")
    failed = sum(1 for c in checks if c.status == FAIL)
    out.write(f"\n{failed} problem(s) found.\n" if failed else "\nno problems found.\n")
