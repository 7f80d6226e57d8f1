"""Every prompt a flow can play, read from the loaded flow model: for ``prompts build``,
``list`` and ``prune``.

The same objects the runner plays from (:class:`~agi_callbot.flow.model.Prompt` on
``say``, a menu's or a collect's ``prompt``, ``no_input`` and ``invalid``, a transfer's
``announce``, a hang-up's ``message``), with the same prompt id (what an admin names a
recording after: :func:`~agi_callbot.flow.model.prompt_id`), language and voice the
call would use. A flow that does not validate lists nothing and raises its
:class:`~agi_callbot.errors.FlowError`: a build or a prune never acts on half a flow.
Texts with ``${…}`` variables are only known during a call (``dynamic``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agi_callbot.config import Settings
from agi_callbot.errors import FlowError
from agi_callbot.flow import model as m
from agi_callbot.flow.expr import parse_template
from agi_callbot.flow.loader import FlowLibrary, check_name, locate


@dataclass(frozen=True)
class FlowPrompt:
    """One text of one flow in one language, with the voice the call speaks it in."""

    flow: str
    block: str
    prompt_id: str
    text: str
    language: str
    voice: Mapping[str, Any] = field(default_factory=dict)
    dynamic: bool = False
    #: the YAML key the text is under (``say``, ``prompt``, ``no_input``, ``message``…)
    key: str = ""

    @property
    def where(self) -> str:
        return f"{self.flow}:{self.prompt_id} [{self.language}]"


def flow_prompts(flow: m.Flow) -> list[FlowPrompt]:
    """The spoken texts of ``flow``, block by block, each language once."""
    found = []
    for block in flow.blocks.values():
        voice = {**flow.voice, **(block.voice or {})}
        for key, prompt in _prompts(block):
            if prompt.text is None:
                continue  # an Asterisk sound file: nothing to render
            for language, text in prompt.text.texts.items():
                found.append(
                    FlowPrompt(
                        flow.name,
                        block.name,
                        prompt.id,
                        text,
                        language or flow.language,
                        voice,
                        parse_template(text).dynamic,
                        key,
                    )
                )
    return found


def _prompts(block: m.Block) -> Iterator[tuple[str, m.Prompt]]:
    """(YAML key, prompt) of every prompt field of the block's spec."""
    for item in dataclasses.fields(block.spec):  # type: ignore[arg-type]
        value = getattr(block.spec, item.name)
        if isinstance(value, m.Prompt):
            yield ("say" if isinstance(block.spec, m.Say) else item.name), value


def find_flows(flows_dir: Path, names: list[str]) -> list[Path]:
    """Flow files by name (``<flows_dir>/<name>.yaml``) or path; all of them by default."""
    if not names:
        if not flows_dir.is_dir():
            return []
        return sorted(p for p in flows_dir.rglob("*.yaml") if not p.name.endswith(".test.yaml"))
    found: list[Path] = []
    for name in names:
        as_path = Path(name)
        if as_path.suffix in (".yaml", ".yml"):
            candidate = as_path
        else:
            candidate = flows_dir / f"{check_name(name)}.yaml"
        if not candidate.is_file():
            raise FlowError(f"no flow {name!r} (looked for {candidate})")
        found.append(candidate)
    return found


def prompts_of(settings: Settings, names: list[str]) -> list[FlowPrompt]:
    """The prompts of the flows named (all of ``flows_dir`` by default), each loaded and
    validated the way ``serve`` would; FlowError for the first one that does not load."""
    found: list[FlowPrompt] = []
    for path in find_flows(settings.flows_dir, names):
        root, name = locate(path, settings.flows_dir)
        library = FlowLibrary(root, defaults=settings.defaults, max_steps=settings.flows.max_steps)
        found.extend(flow_prompts(library.load(path, name)))
    return found
