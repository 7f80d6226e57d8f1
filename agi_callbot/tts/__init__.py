"""Prompts: text → cached audio in Asterisk's formats → what STREAM FILE receives.

``engines`` speak (espeak-ng, gTTS) or find an admin's recording, ``audio`` converts
(sox/pydub), ``cache`` stores by content hash, ``service`` ties them to the flow's
:class:`~agi_callbot.services.PromptService` seam, ``http`` serves the cache to
Asterisk's media cache.
"""

from agi_callbot.tts.service import PromptService, Rendered

__all__ = ["PromptService", "Rendered"]
