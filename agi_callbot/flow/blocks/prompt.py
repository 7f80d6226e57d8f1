"""Playing a flow's prompt: text → prompt service → STREAM FILE, or a sound file as is.

Every block that speaks (say, menu, collect, a transfer's announcement, a hang-up's
final message) goes through :func:`play` or :func:`resolve`, so variables, language,
voice and recordings work the same everywhere. A text with variables is rendered
per call and never replaced by a recording (a recording cannot say the caller's
number); a fixed text is looked up by its prompt id first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from agi_callbot.flow.blocks.call import Call
from agi_callbot.flow.escaping import sound_name
from agi_callbot.flow.expr import parse_template
from agi_callbot.flow.model import Prompt

log = logging.getLogger("agi_callbot.flow")


@dataclass(frozen=True)
class Spoken:
    """What a prompt became for this call: the text heard (for transcripts) and the file."""

    text: str
    file: str
    #: seconds of audio, when the prompt service knows (the reply deadline follows it)
    length: float | None = None


async def resolve(call: Call, prompt: Prompt) -> Spoken:
    """The file STREAM FILE / GET DATA receives for ``prompt`` in the call's language."""
    if prompt.file is not None:
        file = sound_name(prompt.file, call.variables)
        return Spoken(f"[{file}]", file)
    assert prompt.text is not None, "the loader gives every prompt a text or a file"
    flow = call.current_flow or call.flow
    source = prompt.text.get(call.language, flow.language)
    language = prompt.text.language_of(call.language, flow.language)
    template = parse_template(source)
    text = template.render(call.variables)
    block = flow.blocks.get(call.block)
    voice = {**flow.voice, **((block.voice or {}) if block is not None else {})}
    prompts = call.services.prompts
    prompt_id = None if template.dynamic else prompt.id
    measured = getattr(prompts, "resolve_measured", None)
    if measured is None:  # a service that cannot tell the length: no bound
        file = await prompts.resolve(text, prompt_id=prompt_id, language=language, voice=voice)
        return Spoken(text, file)
    file, length = await measured(text, prompt_id=prompt_id, language=language, voice=voice)
    return Spoken(text, file, length)


async def play(call: Call, prompt: Prompt, escape_digits: str = "") -> str | None:
    """Play ``prompt``; return the digit that interrupted it (barge-in) or None."""
    spoken = await resolve(call, prompt)
    call.said(spoken.text)
    playback = await call.channel.stream_file(spoken.file, escape_digits, length=spoken.length)
    if not playback.ok:
        log.warning("prompt %s did not play (file %s missing?)", prompt.id, spoken.file)
    return playback.digit or None
