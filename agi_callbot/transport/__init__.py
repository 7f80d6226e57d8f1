"""Transports move AGI bytes; the protocol lives in :mod:`agi_callbot.agi`."""
