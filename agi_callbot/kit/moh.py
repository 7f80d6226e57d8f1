"""The kit's hold music: one class per team of its queues.conf, all playing the default
music until an admin adds the team's own (``agi-callbot moh add TEAM FILE...``).

Used by ``agi-callbot sounds generate`` (which makes the default music) and by the node
folder ``agi-callbot init`` writes (which copies the kit's sounds).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

#: hold music is long: 8 kHz formats only (most calls are G.711; g722 calls resample)
MOH_FORMATS = ("sln", "ulaw")
#: the teams of the kit's queues.conf / musiconhold.conf
TEAMS = ("ventas", "soporte", "sales", "support")
MOH_NAME = "callbot-hold"


def link_team_music(folder: Path, teams: Sequence[str]) -> list[Path]:
    """Link the default hold music into each team's class folder (``moh/<team>/``)."""
    written: list[Path] = []
    for team in teams:
        team_folder = folder / team
        team_folder.mkdir(parents=True, exist_ok=True)
        for ext in MOH_FORMATS:
            link = team_folder / f"{MOH_NAME}.{ext}"
            if link.is_symlink() or link.exists():
                link.unlink()
            os.symlink(Path("..") / "default" / link.name, link)
            written.append(link)
    return written
