"""Rate-limited log lines for what anyone on the network can trigger.

The callback routes face the internet and the FastAGI port faces whoever reaches it: a
scanner or a flood must not turn each bad request into a log line (or a traceback). A
:class:`Limiter` logs the first event of each *cause* per window, counts the rest and
says so on the next line of that cause — ``… (suppressed 999 more in the last 10s)`` —
or, when no more come, in a summary at the end of the window.

Every line stays one short line: the cause and a fixed text, never the request's bytes.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

#: seconds one cause stays quiet after it was logged
WINDOW_S = 10.0

_LIMITERS: weakref.WeakSet[Limiter] = weakref.WeakSet()


@dataclass
class _Window:
    started: float
    level: int
    text: str
    suppressed: int = 0


class Limiter:
    """One line per cause per window on ``logger``; the rest are counted."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        window: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.window = window
        self.clock = clock
        self._windows: dict[str, _Window] = {}
        _LIMITERS.add(self)

    def _span(self) -> float:
        return WINDOW_S if self.window is None else self.window

    def warning(self, cause: str, message: str, *args: object) -> None:
        self.log(logging.WARNING, cause, message, *args)

    def info(self, cause: str, message: str, *args: object) -> None:
        self.log(logging.INFO, cause, message, *args)

    def log(
        self, level: int, cause: str, message: str, *args: object, exc_info: object = None
    ) -> None:
        """Log ``message % args`` unless ``cause`` was logged within the window
        (``exc_info``, a traceback, goes with the first line of a window only)."""
        now = self.clock()
        window = self._windows.get(cause)
        if window is not None and now - window.started < self._span():
            window.suppressed += 1
            if window.suppressed == 1:
                self._summary_later(cause)
            return
        text = message % args if args else message
        line = text
        if window is not None and window.suppressed:
            line += _tail(window.suppressed, now - window.started)
        self._windows[cause] = _Window(now, level, text)
        self.logger.log(level, "%s", line, exc_info=exc_info)  # type: ignore[arg-type]

    def flush(self, cause: str | None = None) -> None:
        """Log the summary of ``cause`` (of every cause) whose window is over."""
        now = self.clock()
        for name in [cause] if cause is not None else list(self._windows):
            window = self._windows.get(name)
            if window is None or not window.suppressed or now - window.started < self._span():
                continue
            self.logger.log(
                window.level, "%s%s", window.text, _tail(window.suppressed, now - window.started)
            )
            self._windows[name] = _Window(now, window.level, window.text)

    def _summary_later(self, cause: str) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: the next event of this cause carries the count
        loop.call_later(self._span() + 0.01, self.flush, cause)

    def clear(self) -> None:
        self._windows.clear()


def _tail(count: int, seconds: float) -> str:
    return f" (suppressed {count} more in the last {seconds:.{0 if seconds >= 10 else 1}f}s)"


def reset() -> None:
    """Forget every window (tests)."""
    for limiter in list(_LIMITERS):
        limiter.clear()
