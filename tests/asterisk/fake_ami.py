"""A fake Asterisk Manager Interface: a real asyncio TCP server, wire format of Asterisk 22.

Everything it says follows ``tests/ami_transcripts`` (recorded from Asterisk 22.10.1):
the one-line banner, ``\\r\\n`` endings, ``ActionID`` as the 2nd line of a response and
only when the action had one, list responses framed by ``EventList: start`` /
``…Complete`` + ``ListItems``, list events ending with the ActionID and carrying no
Privilege/Timestamp, ``Permission denied`` before login, a rejected login answered
after 1 s then the socket closed, ``Goodbye`` then close on Logoff, an unknown queue
answered ``ListItems: 0``, and a restart (``Event: Shutdown``, EOF, connections reset
for ~0.25 s). ``test_ami_fake_replay.py`` replays the transcripts against it.

Events: a session gets the unsolicited events its Login's ``Events:`` asks for (``on``,
or classes such as ``system,agent``: an event goes out when the class its
``Privilege:`` starts with is asked for); ``emit()`` sends one (shapes in
``fake_ami_events.py``: the queue events of 03, and those app_queue builds alike), and a
``QueuePause`` raises ``QueueMemberPause``. Not modelled (nothing in the callbot reads
them): security events (``SuccessfulAuth``), channel events of 03 (``Newchannel``,
``VarSet``, ``Dial*``, ``Bridge*``, ``Hangup``…), device/extension/presence state (04),
Originate.

Fault knobs for the client's tests: ``silent`` (actions never answered), ``cut_after``
(close the socket after N list events of a list answer), ``interleave`` (an unsolicited
event between list events, as an ``Events: on`` session sees them), ``restart()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from dataclasses import dataclass, field

try:  # imported as ``fake_ami`` (tests/asterisk) or as ``tests.asterisk.fake_ami``
    from fake_ami_events import member_event
except ImportError:
    from tests.asterisk.fake_ami_events import member_event

BANNER = "Asterisk Call Manager/11.0.0"
Headers = list[tuple[str, str]]


@dataclass
class FakeMember:
    name: str
    location: str
    status: int = 1  # device state: 1 not in use, 2 in use, 5 unavailable, 6 ringing…
    paused: bool = False
    paused_reason: str = ""
    in_call: bool = False
    calls_taken: int = 0
    last_call: int = 0
    last_pause: int = 0
    login_time: int = 1795574781
    penalty: int = 0


@dataclass
class FakeCaller:
    channel: str
    uniqueid: str
    number: str
    name: str
    wait: int = 0


@dataclass
class FakeQueue:
    members: list[FakeMember] = field(default_factory=list)
    callers: list[FakeCaller] = field(default_factory=list)
    strategy: str = "ringall"
    holdtime: int = 0
    talktime: int = 0

    def summary(self) -> tuple[int, int]:
        """(LoggedIn, Available) as app_queue counts them (ringinuse = no, no wrap-up)."""
        logged = [m for m in self.members if m.status not in (4, 5)]
        free = [m for m in logged if m.status in (0, 1) and not m.paused]
        return len(logged), len(free)


def message(headers: Headers) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in headers).encode() + b"\r\n"


class FakeAmi:
    """Start with ``await fake.start()``; ``fake.port`` is then the listening port."""

    def __init__(
        self,
        *,
        username: str = "callbot",
        secret: str = "callbot",
        queues: dict[str, FakeQueue] | None = None,
        fail_delay: float = 1.0,
        auth_timeout: float = 30.0,
        allow_command: bool = False,
        cli: dict[str, list[str]] | None = None,
    ) -> None:
        self.username = username
        self.secret = secret
        self.queues = queues if queues is not None else {}
        self.fail_delay = fail_delay
        self.auth_timeout = auth_timeout
        self.allow_command = allow_command
        self.cli = cli or {}
        self.silent: set[str] = set()
        self.cut_after: int | None = None
        self.interleave = False
        self.port = 0
        self.connections = 0
        self.logins: list[str] = []  # "ok" / "failed" per Login received
        self.actions: list[str] = []  # action names as received (case kept)
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._masks: dict[asyncio.StreamWriter, set[str]] = {}  # logged-in sessions' events
        self._down = False

    async def start(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    async def restart(self, down_for: float = 0.25, *, announce: bool = True) -> None:
        """``core restart now``: Shutdown event, EOF; connections reset while booting.

        ``announce=False``: a plain EOF (a session with ``Events: off``, or a crash).
        """
        self._down = True
        for writer in list(self._writers):
            if not announce or not self._wants(writer, "system"):
                writer.close()
                continue
            shutdown = [
                ("Event", "Shutdown"),
                ("Privilege", "system,all"),
                ("Timestamp", _timestamp()),
                ("Shutdown", "Cleanly"),
                ("Restart", "True"),
            ]
            with contextlib.suppress(ConnectionError):
                writer.write(message(shutdown))
            writer.close()
        await asyncio.sleep(down_for)
        self._down = False

    def _wants(self, writer: asyncio.StreamWriter, category: str) -> bool:
        mask = self._masks.get(writer, set())
        return "on" in mask or category in mask

    def emit(self, headers: Headers) -> None:
        """An unsolicited event to every session whose ``Events:`` asks for its class."""
        privilege = next((v for k, v in headers if k == "Privilege"), "")
        category = privilege.split(",")[0]
        for writer in list(self._masks):
            if self._wants(writer, category):
                with contextlib.suppress(ConnectionError):
                    writer.write(message(headers))

    # -- one connection -----------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self._down:
            _reset(writer)
            return
        self._writers.add(writer)
        session = {"auth": False}
        try:
            writer.write(f"{BANNER}\r\n".encode())
            while True:
                timeout = None if session["auth"] else self.auth_timeout
                try:
                    headers = await asyncio.wait_for(_read_message(reader), timeout)
                except TimeoutError:
                    break  # authtimeout: closed without a word
                if headers is None:
                    break
                if not await self._answer(headers, session, writer):
                    break
        except ConnectionError:
            pass
        finally:
            self._writers.discard(writer)
            self._masks.pop(writer, None)
            writer.close()

    async def _answer(self, headers: Headers, session: dict[str, bool], writer) -> bool:
        """Answer one action; False when the server closes the connection afterwards."""
        get = _getter(headers)
        action = get("action")
        action_id = get("actionid")
        if action is not None:
            self.actions.append(action)

        def reply(response: str, *rest: tuple[str, str]) -> None:
            ident = [("ActionID", action_id)] if action_id is not None else []
            writer.write(message([("Response", response), *ident, *rest]))

        if action is None:
            reply("Error", ("Message", "Missing action in request"))
            return True
        name = action.lower()
        if name in self.silent:
            return True
        if name == "logoff":
            reply("Goodbye", ("Message", "Thanks for all the fish."))
            await writer.drain()
            return False
        if name == "login":
            return await self._login(get, session, reply, writer)
        if not session["auth"] and name != "challenge":
            reply("Error", ("Message", "Permission denied"))
            return True
        if name == "ping":
            reply("Success", ("Ping", "Pong"), ("Timestamp", _timestamp()))
        elif name in ("queuestatus", "queuesummary"):
            return await self._list(name, get("queue"), action_id, writer)
        elif name == "queuepause":
            self._pause(get, reply)
        elif name == "command":
            if not self.allow_command:
                reply("Error", ("Message", "Permission denied"))
            else:
                output = self.cli.get(get("command") or "", [])
                reply(
                    "Success",
                    ("Message", "Command output follows"),
                    *[("Output", line) for line in output],
                )
        else:
            reply(
                "Error",
                (
                    "Message",
                    f"Invalid/unknown command: {action}. "
                    "Use Action: ListCommands to show available commands.",
                ),
            )
        return True

    async def _login(self, get, session, reply, writer) -> bool:
        if session["auth"]:
            reply("Success", ("Message", "Already authenticated"))
            return True
        if get("username") != self.username or get("secret") != self.secret:
            self.logins.append("failed")
            await asyncio.sleep(self.fail_delay)
            reply("Error", ("Message", "Authentication failed"))
            await writer.drain()
            return False
        self.logins.append("ok")
        session["auth"] = True
        reply("Success", ("Message", "Authentication accepted"))
        events = {e.strip().lower() for e in (get("events") or "on").split(",")}
        self._masks[writer] = events - {"off"}
        if self._wants(writer, "system"):
            writer.write(
                message(
                    [
                        ("Event", "FullyBooted"),
                        ("Privilege", "system,all"),
                        ("Uptime", "3"),
                        ("LastReload", "3"),
                        ("Status", "Fully Booted"),
                    ]
                )
            )
        return True

    def member(self, queue: str, location: str) -> FakeMember | None:
        found = self.queues.get(queue)
        return next((m for m in (found.members if found else []) if m.location == location), None)

    def pause(self, queue: str, location: str, paused: bool = True, reason: str = "") -> None:
        """What QueuePause does: the member's pause state, then ``QueueMemberPause``."""
        member = self.member(queue, location)
        assert member is not None, (queue, location)
        member.paused = paused
        member.paused_reason = reason if paused else ""
        if paused:
            member.last_pause = int(time.time())
        self.emit(member_event("QueueMemberPause", queue, member))

    def member_status(self, queue: str, location: str, status: int, **fields: object) -> None:
        """A member's device state changed: ``QueueMemberStatus`` (transcript 03)."""
        member = self.member(queue, location)
        assert member is not None, (queue, location)
        member.status = status
        for name, value in fields.items():
            setattr(member, name, value)
        self.emit(member_event("QueueMemberStatus", queue, member))

    def _pause(self, get, reply) -> None:
        queue, wanted = get("queue") or "", get("interface") or ""
        if self.member(queue, wanted) is None:
            reply("Error", ("Message", "Interface not found"))
            return
        paused = (get("paused") or "").lower() in ("true", "yes", "1")
        word = "paused" if paused else "unpaused"
        reply("Success", ("Message", f"Interface {word} successfully"))
        self.pause(queue, wanted, paused, get("reason") or "")

    async def _list(self, name: str, wanted: str | None, action_id, writer) -> bool:
        summary = name == "queuesummary"
        ident = [("ActionID", action_id)] if action_id is not None else []
        label = "summary" if summary else "status"
        writer.write(
            message(
                [
                    ("Response", "Success"),
                    *ident,
                    ("EventList", "start"),
                    ("Message", f"Queue {label} will follow"),
                ]
            )
        )
        events: list[Headers] = []
        for qname, queue in self.queues.items():
            if wanted and wanted != qname:
                continue
            events += _summary(qname, queue) if summary else _status(qname, queue)
        for sent, event in enumerate(events):
            if self.cut_after is not None and sent >= self.cut_after:
                await writer.drain()
                return False
            writer.write(message([*event, *ident]))
            if self.interleave:
                writer.write(message(_member_status_event()))
        complete = "QueueSummaryComplete" if summary else "QueueStatusComplete"
        writer.write(
            message(
                [
                    ("Event", complete),
                    *ident,
                    ("EventList", "Complete"),
                    ("ListItems", str(len(events))),
                ]
            )
        )
        return True


def _member_status_event() -> Headers:
    """An unsolicited event (transcript 03's shape): Privilege, Timestamp, no ActionID."""
    return [
        ("Event", "QueueMemberStatus"),
        ("Privilege", "agent,all"),
        ("Timestamp", _timestamp()),
        ("Queue", "other"),
        ("MemberName", "X"),
        ("Interface", "PJSIP/1009"),
        ("Status", "2"),
        ("Paused", "0"),
    ]


def _summary(name: str, queue: FakeQueue) -> list[Headers]:
    logged, free = queue.summary()
    longest = max((c.wait for c in queue.callers), default=0)
    return [
        [
            ("Event", "QueueSummary"),
            ("Queue", name),
            ("LoggedIn", str(logged)),
            ("Available", str(free)),
            ("Callers", str(len(queue.callers))),
            ("HoldTime", str(queue.holdtime)),
            ("TalkTime", str(queue.talktime)),
            ("LongestHoldTime", str(longest)),
        ]
    ]


def _status(name: str, queue: FakeQueue) -> list[Headers]:
    events: list[Headers] = [
        [
            ("Event", "QueueParams"),
            ("Queue", name),
            ("Max", "0"),
            ("Strategy", queue.strategy),
            ("Calls", str(len(queue.callers))),
            ("Holdtime", str(queue.holdtime)),
            ("TalkTime", str(queue.talktime)),
            ("Completed", "0"),
            ("Abandoned", "0"),
            ("ServiceLevel", "0"),
            ("ServicelevelPerf", "0.0"),
            ("ServicelevelPerf2", "0.0"),
            ("Weight", "0"),
        ]
    ]
    for m in queue.members:
        events.append(
            [
                ("Event", "QueueMember"),
                ("Queue", name),
                ("Name", m.name),
                ("Location", m.location),
                ("StateInterface", m.location),
                ("Membership", "static"),
                ("Penalty", str(m.penalty)),
                ("CallsTaken", str(m.calls_taken)),
                ("LastCall", str(m.last_call)),
                ("LastPause", str(m.last_pause)),
                ("LoginTime", str(m.login_time)),
                ("InCall", "1" if m.in_call else "0"),
                ("Status", str(m.status)),
                ("Paused", "1" if m.paused else "0"),
                ("PausedReason", m.paused_reason),
                ("Wrapuptime", "0"),
            ]
        )
    for position, c in enumerate(queue.callers, start=1):
        events.append(
            [
                ("Event", "QueueEntry"),
                ("Queue", name),
                ("Position", str(position)),
                ("Channel", c.channel),
                ("Uniqueid", c.uniqueid),
                ("CallerIDNum", c.number),
                ("CallerIDName", c.name),
                ("ConnectedLineNum", c.number),
                ("ConnectedLineName", c.name),
                ("Wait", str(c.wait)),
                ("Priority", "0"),
            ]
        )
    return events


async def _read_message(reader: asyncio.StreamReader) -> Headers | None:
    """One client message: lines up to an empty one; ``\\n`` alone is accepted (01, conn6)."""
    headers: Headers = []
    while True:
        line = await reader.readline()
        if not line:
            return None
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        if not text:
            if headers:
                return headers
            continue
        key, _, value = text.partition(":")
        headers.append((key.strip(), value[1:] if value.startswith(" ") else value))


def _getter(headers: Headers):
    def get(name: str) -> str | None:
        for key, value in headers:
            if key.lower() == name:
                return value
        return None

    return get


def _timestamp() -> str:
    return f"{time.time():.6f}"


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST, as a booting Asterisk did (transcript 05: ConnectionResetError)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()
