"""Prompts: text → cached audio in Asterisk's formats → what STREAM FILE receives.

``engines`` speak (espeak-ng, gTTS) or find an admin's recording, ``audio`` converts
(sox/pydub), ``cache`` stores by content hash, ``service`` (:class:`PromptService`) ties
them to the flow's :class:`~agi_callbot.services.PromptResolver` seam, ``build``
pre-renders a flow's prompts, ``moh`` makes a team's hold music, ``http`` serves the
cache to Asterisk's media cache.
"""
