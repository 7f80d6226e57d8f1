"""What can go wrong talking to the Asterisk Manager Interface (:mod:`.ami`)."""

from __future__ import annotations

from agi_callbot.errors import CallbotError


class AmiError(CallbotError):
    """An AMI request could not be answered."""


class AmiUnavailable(AmiError):
    """Not logged in, or the connection dropped while the action was in flight."""


class AmiTimeout(AmiError):
    """Asterisk did not answer within the deadline."""


class AmiLoginFailed(AmiError):
    """Asterisk refused the username/secret (it closes the socket after 1 s)."""


class AmiActionError(AmiError):
    """``Response: Error`` (``Permission denied``, ``Interface not found``…)."""


def describe_error(exc: BaseException) -> str:
    """A connection failure as one short log phrase."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError):
        return exc.strerror or exc.__class__.__name__
    return str(exc) or exc.__class__.__name__
