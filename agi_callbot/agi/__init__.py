"""The AGI protocol without I/O: bytes in, events out; commands in, bytes out.

Modelled on h11: :class:`~agi_callbot.agi.connection.Connection` is a state machine
that never touches a socket, so FastAGI, classic AGI on stdio and the in-memory
Asterisk share one implementation, and tests feed it bytes one at a time.
"""

from agi_callbot.agi.commands import Command, quote
from agi_callbot.agi.connection import (
    NEED_DATA,
    Closed,
    Connection,
    Event,
    HangupNotice,
    State,
)
from agi_callbot.agi.env import Environment
from agi_callbot.agi.replies import Reply

__all__ = [
    "NEED_DATA",
    "Closed",
    "Command",
    "Connection",
    "Environment",
    "Event",
    "HangupNotice",
    "Reply",
    "State",
    "quote",
]
