"""Read the wire transcripts recorded from a real Asterisk (``tests/transcripts/*.txt``).

``<< `` is a line Asterisk sent, ``>> `` a line the server sent (each ends with one
``\\n`` on the wire, not shown); ``# `` lines are annotations. Control bytes are
written ``\\xNN``; long runs are shortened as ``aaaa[...3000 x 'a' in total...]``.
The parser gives back the exact wire bytes and the annotations as timed entries,
so a replay can drive the in-memory Asterisk with the same caller actions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_RUN = re.compile(r"(.)\1*\[\.\.\.(\d+) x '(.)' in total\.\.\.\]")
_HEX = re.compile(r"\\x([0-9a-fA-F]{2})")
_TIMED = re.compile(r"^\+(\d+(?:\.\d+)?)s \[(driver|ami)\] (.*)$")


@dataclass(frozen=True)
class Entry:
    """One transcript line: ``kind`` is asterisk, server, driver, ami or note."""

    kind: str
    data: bytes = b""
    text: str = ""
    at: float | None = None


@dataclass
class Transcript:
    name: str
    header: list[str] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)

    def wire(self, kind: str) -> list[bytes]:
        """Every wire line sent by ``asterisk`` or ``server``, in order, without ``\\n``."""
        return [e.data for e in self.entries if e.kind == kind]

    def header_value(self, prefix: str) -> str | None:
        for line in self.header:
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
        return None


def parse_transcript(text: str, name: str = "") -> Transcript:
    transcript = Transcript(name=name)
    started = False
    for line in text.split("\n"):
        if line.startswith("<< ") or line == "<<":
            started = True
            transcript.entries.append(Entry("asterisk", _decode_wire(line[3:])))
        elif line.startswith(">> ") or line == ">>":
            started = True
            transcript.entries.append(Entry("server", _decode_wire(line[3:])))
        elif line.startswith("# "):
            body = line[2:]
            timed = _TIMED.match(body)
            if timed:
                kind = timed.group(2)
                transcript.entries.append(
                    Entry(kind, text=timed.group(3), at=float(timed.group(1)))
                )
            elif started:
                transcript.entries.append(Entry("note", text=body))
            else:
                transcript.header.append(body)
    return transcript


def _decode_wire(text: str) -> bytes:
    text = _RUN.sub(lambda m: m.group(3) * int(m.group(2)), text)
    out = bytearray()
    pos = 0
    for match in _HEX.finditer(text):
        out += text[pos : match.start()].encode("utf-8")
        out.append(int(match.group(1), 16))
        pos = match.end()
    out += text[pos:].encode("utf-8")
    return bytes(out)


def load_transcript(path: str | Path) -> Transcript:
    path = Path(path)
    return parse_transcript(path.read_text(encoding="utf-8"), name=path.stem)


def load_all(folder: str | Path) -> list[Transcript]:
    return [load_transcript(p) for p in sorted(Path(folder).glob("[0-9]*.txt"))]
