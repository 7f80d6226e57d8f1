"""Run inside a private network namespace (``unshare -rn``): a FastAGI call whose Asterisk
vanishes — its loopback goes down mid-call, so no FIN, no RST, no keepalive answer.

Prints ``FREED <seconds>`` when the server gave the call's slot back, ``STUCK`` when it
still held it after ``limit`` seconds. Arguments: idle interval count limit.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

from agi_callbot.config import Listen
from agi_callbot.transport.fastagi import FastAGIServer

ENV = b"agi_network: yes\nagi_network_script: t\nagi_uniqueid: 1.1\nagi_channel: PJSIP/x\n\n"


async def main(idle: float, interval: float, count: int, limit: float) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)

    async def handler(channel) -> None:
        await channel.stream_file("callbot/es/please-hold")  # no known length: 1800 s

    listen = Listen(port=0, keepalive_idle=idle, keepalive_interval=interval, keepalive_count=count)
    server = FastAGIServer(handler, listen)
    await server.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(ENV)
    await reader.readline()  # the STREAM FILE line: the call now waits for Asterisk
    subprocess.run(["ip", "link", "set", "lo", "down"], check=True)
    started = time.monotonic()
    while time.monotonic() - started < limit:
        await asyncio.sleep(0.2)
        if not server.calls:
            print(f"FREED {time.monotonic() - started:.1f}", flush=True)
            break
    else:
        print("STUCK", flush=True)
    for task in list(server.calls):
        task.cancel()
    writer.transport.abort()


if __name__ == "__main__":
    idle, interval, count, limit = sys.argv[1:5]
    asyncio.run(main(float(idle), float(interval), int(count), float(limit)))
