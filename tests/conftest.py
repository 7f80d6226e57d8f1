"""Settings shared by the whole suite.

Hypothesis' per-example deadline (200 ms by default) is a timing assertion: on a loaded
CI machine it fails tests whose logic is fine. Speed is measured in benchmarks/, so the
suite runs every property test without a deadline.
"""

import logging

import pytest
from hypothesis import settings

settings.register_profile("callbot", deadline=None)
settings.load_profile("callbot")


@pytest.fixture(autouse=True)
def _logging_left_as_found():
    """A test that runs the node's logging set-up (serve, the CLI) changes process-wide
    loggers; put ours back so later tests see the levels and handlers they expect.
    (The root logger's handlers belong to pytest's log capture: only its level is ours.)"""
    root_level = logging.root.level
    ours = [
        "agi_callbot",
        *(n for n in logging.root.manager.loggerDict if n.startswith("agi_callbot.")),
    ]
    saved = {}
    for name in ours:
        lg = logging.getLogger(name)
        saved[name] = (lg.level, list(lg.handlers), list(lg.filters), lg.propagate, lg.disabled)
    yield
    logging.root.setLevel(root_level)
    for name, (level, handlers, filters, propagate, disabled) in saved.items():
        lg = logging.getLogger(name)
        lg.setLevel(level)
        lg.handlers[:] = handlers
        lg.filters[:] = filters
        lg.propagate = propagate
        lg.disabled = disabled
