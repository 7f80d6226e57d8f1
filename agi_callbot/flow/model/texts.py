"""What a flow says: texts in one or more languages, prompts and their recording ids,
and parsed conditions (``branch``, ``when``, ``set`` with ``expr``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agi_callbot.flow.expr import Expr


@dataclass(frozen=True)
class Text:
    """A spoken text: one string in the flow's language, or one per language.

    ``texts`` maps a language tag to the text; ``""`` is "the flow's language".
    """

    texts: Mapping[str, str]

    def get(self, language: str, flow_language: str) -> str:
        """The text for the call's language, else the flow's, else the first one."""
        for key in (language, language.split("-")[0], "", flow_language):
            if key in self.texts:
                return self.texts[key]
        return next(iter(self.texts.values()))

    def language_of(self, language: str, flow_language: str) -> str:
        """The language the text returned by :meth:`get` is written in (for the voice)."""
        for key in (language, language.split("-")[0]):
            if key in self.texts:
                return key
        if "" in self.texts or flow_language in self.texts:
            return flow_language
        return next(iter(self.texts))

    def all(self) -> tuple[str, ...]:
        return tuple(self.texts.values())


#: a block's main text: its prompt id is the block name alone
MAIN_TEXT_KEYS = frozenset({"say", "prompt", "message"})


def prompt_id(block: str, key: str) -> str:
    """The recording name of a block's text: ``welcome``, ``main_menu.no_input``."""
    return block if key in MAIN_TEXT_KEYS else f"{block}.{key}"


@dataclass(frozen=True)
class Prompt:
    """What to play: a text for the prompt service or an Asterisk sound file.

    ``id`` is the recording name an admin may drop in (``welcome``, ``menu.no_input``).
    """

    id: str
    text: Text | None = None
    file: str | None = None

    @classmethod
    def for_key(
        cls, block: str, key: str, text: Text | None = None, file: str | None = None
    ) -> Prompt:
        return cls(prompt_id(block, key), text, file)


@dataclass(frozen=True)
class Condition:
    """A parsed expression (``branch``, ``when``, ``set`` with ``expr``) with its source."""

    source: str
    expr: Expr
    line: int = 0
    column: int = 0
