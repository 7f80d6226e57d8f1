"""Transports carry AGI bytes over real I/O: FastAGI sockets and classic AGI's stdio.

Each opens a session through :mod:`agi_callbot.session`; the protocol lives in
:mod:`agi_callbot.agi`, the in-memory Asterisk for tests and ``simulate`` in
:mod:`agi_callbot.sim`.
"""
