"""AGI fuzzing against the running server: thousands of hostile or broken Asterisk sessions.

Each session is generated from its own seed (``random.Random(SEED + n)``: a failure names
the seed and the scenario, and replays alone). Scenarios: truncated env blocks, random
bytes, oversized lines, replies out of order, ``HANGUP`` at odd places, 520 blocks that
never end, CRLF and NUL bytes, abrupt resets, and well-behaved calls split into random
fragments (which must still run the whole flow).

After the storm the server must still be up and serve a normal call, its file
descriptors must be back to the baseline, its memory must stay within a bound, and its
log must hold no ERROR line (an exception the transport let escape) and nothing that is
not JSON. The default run plays ~1000 sessions; ``-m slow`` the full 10 000.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from asterisk_peer import (
    NORMAL_VERBS,
    ServerProcess,
    env_block,
    memory_call,
    normal_call,
    normal_reply,
    verb_of,
)

SEED = 20261125
#: a session the server has not ended by then is hung (its deadlines are 0.5 s)
HUNG_S = 10.0
CONCURRENCY = 64
MB = 1024 * 1024

REPLY_POOL = [
    b"200 result=0\n",
    b"200 result=1\n",
    b"200 result=-1\n",
    b"200 result=\n",
    b"200 result=49 endpos=12345\n",
    b"200 result=0042 (timeout)\n",
    b'200 result=1 (a (nested) "value")\n',
    b"200 result=abc\n",
    b"200\n",
    b"200 result=99999999999999999999999999\n",
    b"510 Invalid or unknown command\n",
    b"511 Command Not Permitted on a dead channel or intercept routine\n",
    b"520 Invalid command syntax.  Proper usage not available.\n",
    b"520-Invalid command syntax.  Proper usage follows:\n"
    b"Usage: STREAM FILE\n520 End of proper usage.\n",
    b"HANGUP\n",
    b"100 result=0 Trying...\n",
    b"999 what\n",
    b"\n",
    b"   \n",
    b"200 result=0 endpos=\n",
    b"-1\n",
]


class Session:
    """Plays one hostile Asterisk: write what the scenario says, read until the server closes."""

    def __init__(self, port: int, rng: random.Random, script: str = "fuzz") -> None:
        self.port = port
        self.rng = rng
        self.script = script
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.lines: list[bytes] = []

    def env(self) -> bytes:
        """A valid env block for a new call of this session's flow."""
        return env_block(self.rng.randint(1, 10**6), self.script)

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def send(self, data: bytes, *, fragments: bool = False) -> None:
        assert self.writer is not None
        if not fragments:
            self.writer.write(data)
            await self.writer.drain()  # ConnectionError once the server has cut us off
            return
        while data:
            cut = self.rng.randint(1, max(1, min(len(data), 64)))
            self.writer.write(data[:cut])
            data = data[cut:]
            await self.writer.drain()

    async def line(self) -> bytes:
        """The next line from the server; ``b""`` when it closed (or reset) the connection."""
        assert self.reader is not None
        try:
            line = await asyncio.wait_for(self.reader.readline(), HUNG_S)
        except (ConnectionError, ValueError):
            return b""
        except TimeoutError:
            raise AssertionError("the server neither sent a line nor closed: hung") from None
        if line:
            self.lines.append(line)
        return line

    async def until_closed(self, answer: Callable[[bytes], bytes | None] | None = None) -> None:
        """Read until the server closes, answering each line with ``answer(line)``."""
        while line := await self.line():
            reply = answer(line) if answer else None
            if reply is not None:
                await self.send(reply)

    def reset(self) -> None:
        """Close with an RST, as a crashed Asterisk box would."""
        assert self.writer is not None
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.close()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


# --------------------------------------------------------------------------- scenarios


async def truncated_env(s: Session) -> None:
    env = s.env()
    await s.send(env[: s.rng.randint(0, len(env) - 1)])
    ending = s.rng.choice(("close", "reset", "stall"))
    if ending == "close":
        s.close()
    elif ending == "reset":
        s.reset()
    else:
        await s.until_closed()  # the env deadline must end it


async def random_bytes(s: Session) -> None:
    blob = s.rng.randbytes(s.rng.choice((1, 16, 300, 4000, 70000)))
    if s.rng.random() < 0.5:
        blob += b"\n\n"
    await s.send(blob, fragments=s.rng.random() < 0.3)
    if s.rng.random() < 0.3:
        s.close()
        return
    await s.until_closed(lambda _: s.rng.randbytes(s.rng.randint(0, 200)))


async def oversized_line(s: Session) -> None:
    size = s.rng.choice((9000, 70000, 300000, 2 * MB))
    where = s.rng.choice(("env", "reply"))
    if where == "env":
        await s.send(b"agi_network: yes\nagi_calleridname: " + b"A" * size)
        if s.rng.random() < 0.5:
            await s.send(b"\n\n")
        await s.until_closed()
    else:
        await s.send(s.env())
        await s.until_closed(lambda _: b"200 result=0 (" + b"x" * size + b")\n")


async def out_of_order(s: Session) -> None:
    if s.rng.random() < 0.3:  # replies before any command
        await s.send(b"".join(s.rng.choices(REPLY_POOL, k=s.rng.randint(1, 4))))
    await s.send(s.env())

    def answer(line: bytes) -> bytes:
        return b"".join(s.rng.choices(REPLY_POOL, k=s.rng.choice((0, 1, 1, 1, 2, 3))))

    await s.until_closed(answer)


async def hangup_odd_places(s: Session) -> None:
    env = s.env()
    place = s.rng.choice(("in-env", "after-env", "before-reply", "after-reply", "twice-eof"))
    if place == "in-env":
        cut = env.index(b"\n", s.rng.randint(0, len(env) - 3)) + 1
        env = env[:cut] + b"HANGUP\n" + env[cut:]
    await s.send(env)
    if place == "after-env":
        await s.send(b"HANGUP\n")
    count = 0

    def answer(line: bytes) -> bytes:
        nonlocal count
        count += 1
        reply = normal_reply(line)
        if place == "before-reply" and count == 2:
            return b"HANGUP\n" + reply
        if place == "after-reply" and count == 3:
            return reply + b"HANGUP\n"
        if count > 3 and place in ("before-reply", "after-reply", "after-env"):
            return b"511 Command Not Permitted on a dead channel or intercept routine\n"
        return reply

    if place == "twice-eof":  # AGIEXITONHANGUP=yes (22): HANGUP, HANGUP, then EOF
        await s.line()
        await s.send(b"200 result=0\nHANGUP\nHANGUP\n")
        s.close()
        return
    await s.until_closed(answer)


async def endless_520(s: Session) -> None:
    """A 520 usage block that never ends: flooded, or dribbled a line every 50 ms."""
    await s.send(s.env())
    if not await s.line():
        return
    await s.send(b"520-Invalid command syntax.  Proper usage follows:\n")
    flood = s.rng.random() < 0.5
    usage = b"Usage: STREAM FILE <filename> <escape digits> [sample offset]\n"
    assert s.reader is not None and s.writer is not None
    loop = asyncio.get_running_loop()
    give_up = loop.time() + HUNG_S
    sent = 0
    while not s.reader.at_eof() and sent < 4 * MB:
        if loop.time() > give_up:
            raise AssertionError("the server let a 520 block run past every deadline")
        s.writer.write(usage * 64 if flood else usage)
        sent += len(usage) * (64 if flood else 1)
        await s.writer.drain()  # raises once the server has closed
        await asyncio.sleep(0 if flood else 0.05)
    await s.until_closed()


async def crlf_and_nul(s: Session) -> None:
    env = s.env()
    if s.rng.random() < 0.5:
        env = env.replace(b"\n", b"\r\n")
    else:
        env = env.replace(b"Ana", b"A\x00n\xffa\xc3")
    await s.send(env)
    await s.until_closed(lambda line: normal_reply(line).replace(b"\n", b"\r\n"))


async def abrupt_reset(s: Session) -> None:
    await s.send(s.env())
    stop_after = s.rng.randint(0, len(NORMAL_VERBS))
    for _ in range(stop_after):
        line = await s.line()
        if not line:
            return
        await s.send(normal_reply(line))
    s.reset() if s.rng.random() < 0.5 else s.close()


async def split_normal_call(s: Session) -> None:
    """Well-behaved, but every write cut into random fragments: the flow must run whole."""
    try:
        await s.send(s.env(), fragments=True)
        while line := await s.line():
            await s.send(normal_reply(line), fragments=True)
    except ConnectionError as exc:
        raise AssertionError(f"the server cut a well-behaved call: {exc!r}") from None
    if s.script == "fuzz":
        verbs = [verb_of(line) for line in s.lines]
        assert verbs == NORMAL_VERBS, f"fragmented call ran {verbs}"
        return
    statuses = [line for line in s.lines if line.startswith(b'SET VARIABLE "CALLBOT_STATUS"')]
    assert statuses and b'"FAILED"' not in statuses[-1], f"fragmented call ended {statuses}"


SCENARIOS: list[Callable[[Session], Awaitable[None]]] = [
    truncated_env,
    random_bytes,
    oversized_line,
    out_of_order,
    hangup_odd_places,
    endless_520,
    crlf_and_nul,
    abrupt_reset,
    split_normal_call,
]


async def play(port: int, n: int, script: str = "fuzz") -> str:
    rng = random.Random(SEED + n)
    scenario = SCENARIOS[n % len(SCENARIOS)]
    session = Session(port, rng, script)
    try:
        await session.open()
        await scenario(session)
    except ConnectionError:
        pass  # the server cutting a hostile peer short is fine
    except AssertionError as exc:
        raise AssertionError(f"session {n} ({scenario.__name__}, seed {SEED + n}): {exc}") from None
    finally:
        session.close()
    return scenario.__name__


async def storm(
    server: ServerProcess, sessions: int, script: str = "fuzz"
) -> tuple[Counter[str], list[int]]:
    """Play ``sessions`` fuzz sessions, CONCURRENCY at a time; RSS sampled every 10 %."""
    gate = asyncio.Semaphore(CONCURRENCY)
    played: Counter[str] = Counter()
    rss: list[int] = []
    step = max(1, sessions // 10)

    async def one(n: int) -> None:
        async with gate:
            played[await play(server.port, n, script)] += 1
            if n % step == 0:
                rss.append(server.rss())

    await asyncio.gather(*(one(n) for n in range(sessions)))
    return played, rss


async def serves_a_normal_call(server: ServerProcess, app: bool) -> bool:
    if app:
        ast = await memory_call(server.port, "soporte", caller="wait:3,2,wait:3,1")
        return ast.variables.get("CALLBOT_STATUS") == "COMPLETED"
    verbs, _ = await normal_call(server.port)
    return verbs == NORMAL_VERBS


async def check_survived(
    start: Callable[..., ServerProcess], sessions: int, app_dir: Path | None = None
) -> None:
    """``app_dir``: attack the whole node serving the example flows, not the bare server."""
    app = app_dir is not None
    server = start(app=app_dir) if app else start()
    assert await serves_a_normal_call(server, app)  # warm: imports, caches, prompts
    fds_before, rss_before = server.fds(), server.rss()

    played, rss = await storm(server, sessions, "soporte" if app else "fuzz")

    assert server.alive(), "the server died"
    assert set(played) == {s.__name__ for s in SCENARIOS}
    assert await serves_a_normal_call(server, app), "the server no longer serves a normal call"
    fds_after = await server.settle_fds(fds_before)
    assert fds_after <= fds_before, f"file descriptors: {fds_before} before, {fds_after} after"
    rss_after = server.rss()
    # 2 MB lines and 4 MB 520 floods are in the mix, 64 at a time: the server may hold a
    # few of them at once, but what it keeps after the storm must not grow with its length
    assert rss_after - rss_before < 96 * MB, f"RSS grew {(rss_after - rss_before) / MB:.0f} MB"
    if len(rss) >= 4:
        settled, last = rss[len(rss) // 3], max([*rss[len(rss) // 3 :], rss_after])
        assert last - settled < 32 * MB, (
            f"RSS kept growing: {settled / MB:.0f} → {last / MB:.0f} MB"
        )
    # the bare server's handler tolerates refused commands: any ERROR there escaped; the
    # node's runner reports refused commands and protocol errors at ERROR by design
    problems = server.escaped() if app else server.errors()
    assert not problems, f"{len(problems)} log lines, first: {problems[0]}"


async def test_server_survives_1000_fuzzed_sessions(agi_server) -> None:
    await check_survived(agi_server, 1000)


@pytest.mark.slow
async def test_server_survives_10000_fuzzed_sessions(agi_server) -> None:
    await check_survived(agi_server, 10_000)


async def test_whole_node_survives_1000_fuzzed_calls_of_an_example_flow(
    agi_server, tmp_path: Path
) -> None:
    await check_survived(agi_server, 1000, app_dir=tmp_path / "node")


@pytest.mark.slow
async def test_whole_node_survives_10000_fuzzed_calls_of_an_example_flow(
    agi_server, tmp_path: Path
) -> None:
    await check_survived(agi_server, 10_000, app_dir=tmp_path / "node")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
async def test_each_scenario_alone_leaves_the_server_clean(agi_server, scenario) -> None:
    """Twenty sessions of one kind: a failure here names the scenario that causes it."""
    server = agi_server()
    await normal_call(server.port)
    fds_before = server.fds()
    index = SCENARIOS.index(scenario)
    await asyncio.gather(*(play(server.port, index + k * len(SCENARIOS)) for k in range(20)))
    assert server.alive()
    assert (await normal_call(server.port, 3))[0] == NORMAL_VERBS
    assert await server.settle_fds(fds_before) <= fds_before
    assert not server.errors(), server.errors()[0]
