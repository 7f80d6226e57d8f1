"""Rules on one block at a time: fallbacks a caller needs, files Asterisk needs, the
``start`` note."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agi_callbot.flow import model as m
from agi_callbot.flow.lint.findings import Findings


def start_note(flow: m.Flow, found: Findings) -> None:
    if not flow.start_given and flow.start in flow.blocks:
        found.add(
            "note",
            "start",
            f"no start: key: calls begin at the first block, {flow.start!r} "
            f"(write start: {flow.start} to say so)",
            flow.blocks[flow.start],
            flow.start,
        )


def missing_fallbacks(flow: m.Flow, found: Findings) -> None:
    for block in flow.blocks.values():
        spec = block.spec
        if isinstance(spec, m.Menu) and not spec.on_fail:
            found.add(
                "warning",
                "menu-on-fail",
                f"menu {block.name!r} has no on_fail: a caller "
                "who gets it wrong is not handed to anyone",
                block,
                block.name,
            )
        if isinstance(spec, m.Collect) and not spec.on_fail:
            found.add(
                "warning",
                "collect-on-fail",
                f"collect {block.name!r} has no on_fail",
                block,
                block.name,
            )
        if isinstance(spec, m.Hours) and not any(spec.week):
            found.add(
                "warning",
                "hours-never-open",
                f"hours {block.name!r} is never open: no day of its week has opening hours",
                block,
                block.name,
            )
        if isinstance(spec, m.Transfer) and not spec.on_no_answer:
            found.add(
                "warning",
                "transfer-no-answer",
                f"transfer {block.name!r} has no on_no_answer: the call ends when nobody picks up",
                block,
                block.name,
            )


def missing_files(flow: m.Flow, settings: Any, found: Findings) -> None:
    for block in flow.blocks.values():
        spec = block.spec
        if isinstance(spec, m.Transfer) and spec.music and settings is not None:
            moh = Path(settings.moh_dir)
            if moh.is_dir() and not (moh / spec.music).is_dir():
                found.add(
                    "warning",
                    "music",
                    f"hold music class {spec.music!r} has no folder "
                    f"in {moh} (Asterisk would play 'default')",
                    block,
                    block.name,
                )
        if isinstance(spec, m.Say) and spec.prompt.file and spec.prompt.file.startswith("/"):
            sound = Path(spec.prompt.file)
            if "${" not in spec.prompt.file and not any(sound.parent.glob(sound.name + ".*")):
                found.add(
                    "warning", "sound", f"no sound file {spec.prompt.file}.*", block, block.name
                )
