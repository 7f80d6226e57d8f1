"""What a gateway adds on top of a bare HTTP POST (issue 6).

    python benchmarks/gateways.py [--messages 2000] [--concurrency 1,16,64]

A loopback provider runs in its own process (aiohttp, answers Twilio-, Meta- and
generic-shaped JSON at once). In this process, for each concurrency:

  baseline    httpx.AsyncClient.post of a fixed form body, response read, nothing else
  http        the generic HTTP SMS gateway (template fill, auth header, id_path lookup)
  twilio      the Twilio SMS gateway (form, basic auth, idempotency header, sid parsing)
  meta        the Meta WhatsApp gateway (registry check, template JSON, wamid parsing)

Printed: messages/s (best of --repeat interleaved rounds) and the ratio to the baseline
of the same run. The provider process shares the machine's cores with the sender, so
absolute figures depend on the host; the ratio is what to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import time

import httpx
from aiohttp import web

from agi_callbot.config import load_settings
from agi_callbot.gateways import build_gateways
from agi_callbot.services import Message

ANSWER = {"sid": "SM1", "id": "x1", "messages": [{"id": "wamid.1"}]}


def serve(port: int) -> None:
    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response(ANSWER, status=201)

    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", handle)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_for(port: int) -> None:
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise SystemExit("the loopback provider did not start")


async def run(send, total: int, concurrency: int) -> float:
    remaining = iter(range(total))

    async def worker() -> None:
        for i in remaining:
            await send(i)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return total / (time.perf_counter() - start)


async def main(total: int, levels: list[int], repeat: int) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    os.environ["BENCH_TOKEN"] = "bench-token"
    settings = load_settings(
        None,
        environ={},
        overrides={
            "gateways": {
                "sms": {
                    "provider": "twilio",
                    "base_url": url,
                    "account_sid": "AC1",
                    "auth_token_env": "BENCH_TOKEN",
                    "from": "+34910000000",
                    "max_connections": max(levels),
                },
                "whatsapp": {
                    "provider": "meta",
                    "base_url": url,
                    "phone_number_id": "1",
                    "token_env": "BENCH_TOKEN",
                    "max_connections": max(levels),
                },
            },
            "templates": {"encuesta": {"language": "es", "params": 1}},
        },
    )
    generic = load_settings(
        None,
        environ={},
        overrides={
            "gateways": {
                "sms": {
                    "provider": "http",
                    "url": url + "/send",
                    "auth_env": "BENCH_TOKEN",
                    "id_path": "id",
                    "max_connections": max(levels),
                }
            }
        },
    )
    gateways = build_gateways(settings)
    http_sms = build_gateways(generic)["sms"]
    sms = Message("sms", "+34600111222", {"text": "Soporte Acme: https://acme.example/ayuda"})
    wa = Message("whatsapp", "+34600111222", {"template": "encuesta", "params": ["Ana"]})
    limits = httpx.Limits(max_connections=max(levels), max_keepalive_connections=max(levels))
    client = httpx.AsyncClient(limits=limits, timeout=10)
    form = {"To": "+34600111222", "From": "+34910000000", "Body": sms.payload["text"]}

    async def baseline(i: int) -> None:
        response = await client.post(url + "/2010-04-01/Accounts/AC1/Messages.json", data=form)
        response.json()

    candidates = {
        "baseline": baseline,
        "http": lambda i: http_sms.send(sms, key=f"h{i}"),
        "twilio": lambda i: gateways["sms"].send(sms, key=f"t{i}"),
        "meta": lambda i: gateways["whatsapp"].send(wa, key=f"m{i}"),
    }
    process = multiprocessing.Process(target=serve, args=(port,), daemon=True)
    process.start()
    try:
        await wait_for(port)
        for send in candidates.values():  # warm-up: connections, imports
            await run(send, 50, 4)
        print(f"{'concurrency':>11} " + " ".join(f"{n:>18}" for n in candidates))
        for level in levels:
            rates = dict.fromkeys(candidates, 0.0)
            for _ in range(repeat):  # interleaved, best of `repeat`: less order and noise bias
                for name, send in candidates.items():
                    rates[name] = max(rates[name], await run(send, total, level))
            cells = [f"{rates[n]:8.0f}/s ({rates[n] / rates['baseline']:4.2f}x)" for n in rates]
            print(f"{level:>11} " + " ".join(f"{c:>18}" for c in cells))
    finally:
        await client.aclose()
        await http_sms.aclose()
        for gateway in gateways.values():
            await gateway.aclose()
        process.terminate()
        process.join(5)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    levels = [int(v) for v in args.concurrency.split(",")]
    asyncio.run(main(args.messages, levels, args.repeat))
