"""Flows an admin can start from in the console: empty (es/en) and the two examples.

The files are copies of ``examples/flows/soporte.yaml`` and ``support.yaml`` (a test
keeps them equal) so an installed package has them without the repository.
"""

from __future__ import annotations

from importlib import resources

from agi_callbot.console.document import FlowDocument

STARTERS = {
    "empty-es": "empty-es.yaml",
    "empty-en": "empty-en.yaml",
    "soporte": "soporte.yaml",
    "support": "support.yaml",
}


def template_text(starter: str, name: str) -> str:
    """The starter's text with its ``flow:`` key set to ``name``."""
    if starter == "empty":
        starter = "empty-es"
    if starter not in STARTERS:
        raise ValueError(f"no starter named {starter!r}: {', '.join(STARTERS)}")
    text = resources.files(__package__).joinpath(STARTERS[starter]).read_text(encoding="utf-8")
    document = FlowDocument(text)
    document.set(["flow"], name)
    return document.text()
