"""How long an AGI command may take before the call is given up as stuck: the reply
deadline of each command from what it does (:class:`Timeouts`), and the one periodic
timer that enforces the deadlines of every call on a node (:class:`Watchdog`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agi_callbot.agi import commands as cmd
from agi_callbot.agi.commands import Command, Wait, command_wait
from agi_callbot.config import Listen

if TYPE_CHECKING:
    from agi_callbot.channel import Channel


#: the least margin a command that plays or listens gets past its own length (seconds)
MEDIA_MARGIN_MIN = 1.0


@dataclass(frozen=True)
class Timeouts:
    """Reply deadlines by kind of command, in seconds (``None``: no deadline)."""

    reply: float = 10.0
    media: float = 1800.0
    exec: float | None = None

    @classmethod
    def from_listen(cls, listen: Listen) -> Timeouts:
        return cls(
            float(listen.reply_timeout),
            float(listen.media_timeout),
            float(listen.exec_timeout) or None,
        )

    def for_command(self, command: Command, length: float | None = None) -> float | None:
        """The reply deadline of ``command``, from what it does.

        Quick commands: ``reply``. A command that plays a prompt whose ``length`` (in
        seconds) the caller knows: that length, plus the time it waits for digits
        (GET DATA: its timeout per digit; GET OPTION: its timeout), plus ``reply``.
        WAIT FOR DIGIT: its own timeout plus ``reply``. A length that is not known (a
        sound file of Asterisk's, SAY …) or a wait for ever: ``media`` plus the command's
        timeout, as the cap. EXEC (Queue, Dial): ``exec`` — a bridged conversation has
        no bound, so by default none; TCP keepalive finds a vanished peer instead.
        """
        wait = command_wait(command)
        if wait is Wait.QUICK:
            return self.reply
        if wait is Wait.EXEC:
            return self.exec
        timeout = max(getattr(command, "timeout_ms", 0) or 0, 0) / 1000
        # the reply of a media command follows Asterisk's media scheduling: never less
        # than a second of margin, however short ``reply`` is set for quick commands
        margin = max(self.reply, MEDIA_MARGIN_MIN)
        if isinstance(command, cmd.WaitForDigit):
            if command.timeout_ms >= 0:
                return timeout + margin
            return self.media + self.reply
        if length is None:
            return self.media + timeout + self.reply
        if isinstance(command, cmd.GetData):
            timeout *= max(1, command.max_digits)
        return min(length + timeout, self.media + timeout) + margin


class Watchdog:
    """Reply deadlines for thousands of calls with one periodic timer.

    ``asyncio.timeout`` per command schedules and cancels a timer handle each time;
    a server with thousands of calls arms a deadline here instead (a dict write) and
    one task checks them every ``interval`` seconds, cancelling the overdue reads.
    A deadline fires up to ``interval`` late, which is nothing next to its length.
    """

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self._armed: dict[Channel, tuple[float, asyncio.Task[Any]]] = {}
        self._fired: set[Channel] = set()

    def arm(self, channel: Channel, task: asyncio.Task[Any] | None, timeout: float | None) -> None:
        if timeout is not None and task is not None:
            self._armed[channel] = (asyncio.get_running_loop().time() + timeout, task)

    def disarm(self, channel: Channel) -> None:
        self._armed.pop(channel, None)
        self._fired.discard(channel)

    def fired(self, channel: Channel) -> bool:
        return channel in self._fired

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.interval)
            now = loop.time()
            for channel, (deadline, task) in list(self._armed.items()):
                if deadline <= now:
                    del self._armed[channel]
                    self._fired.add(channel)
                    task.cancel()
