"""What lint reports: one :class:`Finding` per problem, with the file, line and column."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agi_callbot.flow import model as m


@dataclass(frozen=True)
class Finding:
    severity: str  # error | warning | note
    rule: str
    message: str
    file: str
    line: int
    column: int
    block: str = ""

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line, self.column) if p)
        label = "" if self.severity == "error" else f"{self.severity}: "
        return f"{where}: {label}{self.message}"


class Findings(list[Finding]):
    """The findings on one flow so far; ``add`` takes the place from a block or an action."""

    def __init__(self, flow: m.Flow) -> None:
        super().__init__()
        self.file = str(flow.path)

    def add(self, severity: str, rule: str, message: str, where: Any, block: str = "") -> None:
        line, column = getattr(where, "line", 0), getattr(where, "column", 0)
        self.append(Finding(severity, rule, message, self.file, line, column, block))
