"""Every prompt a flow can play, for ``prompts build``, ``list`` and ``prune``.

A flow's texts live in its blocks under a few keys (``say``, a menu's ``prompt``,
``no_input`` and ``invalid``, a transfer's ``announce``, a hang-up's ``message``); a
text is a string in the flow's language or a mapping ``{language: text}``. Texts
with ``${…}`` variables are only known during a call and cannot be pre-rendered.

The prompt id (what an admin names a recording after) is the block name for a
block's main text and ``<block>.<key>`` for the others: :func:`prompt_id` is the one
definition, for the flow runner to use too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agi_callbot.errors import FlowError

#: keys whose string value is spoken to the caller
TEXT_KEYS = ("say", "prompt", "message", "no_input", "invalid", "announce")
#: the block's main text: its prompt id is the block name alone
MAIN_KEYS = frozenset({"say", "prompt", "message"})
#: keys that hold messages sent elsewhere (SMS text, e-mail body), never spoken
_NOT_SPOKEN = frozenset({"actions", "on_hangup", "sms", "whatsapp", "email", "webhook"})


def prompt_id(block: str, key: str) -> str:
    """The recording name of a block's text: ``welcome``, ``main_menu.no_input``."""
    return block if key in MAIN_KEYS else f"{block}.{key}"


@dataclass(frozen=True)
class FlowPrompt:
    """One text of one flow in one language, with the voice the flow speaks it in."""

    flow: str
    block: str
    key: str
    text: str
    language: str
    voice: Mapping[str, Any] = field(default_factory=dict)

    @property
    def prompt_id(self) -> str:
        return prompt_id(self.block, self.key)

    @property
    def dynamic(self) -> bool:
        """A text with variables is only known during the call."""
        return "${" in self.text

    @property
    def where(self) -> str:
        return f"{self.flow}:{self.block}.{self.key} [{self.language}]"


def find_flows(flows_dir: Path, names: list[str]) -> list[Path]:
    """Flow files by name (``<flows_dir>/<name>.yaml``) or path; all of them by default."""
    if not names:
        if not flows_dir.is_dir():
            return []
        return sorted(p for p in flows_dir.rglob("*.yaml") if not p.name.endswith(".test.yaml"))
    found: list[Path] = []
    for name in names:
        as_path = Path(name)
        candidate = as_path if as_path.suffix in (".yaml", ".yml") else flows_dir / f"{name}.yaml"
        if not candidate.is_file():
            raise FlowError(f"no flow {name!r} (looked for {candidate})")
        found.append(candidate)
    return found


def flow_prompts(path: Path, default_language: str) -> list[FlowPrompt]:
    """The spoken texts of one flow file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise FlowError(
            str(exc.problem or exc),
            file=str(path),
            line=mark.line + 1 if mark else 0,
            column=mark.column + 1 if mark else 0,
        ) from exc
    except (OSError, yaml.YAMLError) as exc:
        raise FlowError(f"cannot read flow: {exc}", file=str(path)) from exc
    if not isinstance(data, dict):
        raise FlowError("a flow file must be a mapping", file=str(path))
    name = str(data.get("flow") or path.stem)
    language = str(data.get("language") or default_language)
    voice = data.get("voice") if isinstance(data.get("voice"), dict) else {}
    blocks = data.get("blocks") if isinstance(data.get("blocks"), dict) else {}
    prompts: list[FlowPrompt] = []
    for block_name, block in blocks.items():
        if not isinstance(block, dict):
            continue
        block_voice = {**voice, **block["voice"]} if isinstance(block.get("voice"), dict) else voice
        for key, text, text_language in _texts(block, language):
            prompts.append(FlowPrompt(name, str(block_name), key, text, text_language, block_voice))
    return prompts


def _texts(node: Mapping[str, Any], language: str) -> Iterator[tuple[str, str, str]]:
    for key, value in node.items():
        if key in _NOT_SPOKEN:
            continue
        if key in TEXT_KEYS and isinstance(value, str):
            yield key, value, language
        elif key in TEXT_KEYS and isinstance(value, dict) and _is_translations(value):
            for text_language, text in value.items():
                yield key, str(text), str(text_language)
        elif isinstance(value, dict):
            yield from _texts(value, language)


def _is_translations(value: Mapping[Any, Any]) -> bool:
    """``{es: "Hola", en: "Hello"}``: language tags mapping to strings."""
    return bool(value) and all(
        isinstance(k, str) and 2 <= len(k) <= 8 and isinstance(v, str) for k, v in value.items()
    )
