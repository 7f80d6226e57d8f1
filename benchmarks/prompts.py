"""Prompt benchmarks: cold render per engine, warm lookup, conversion per format, single flight.

    python benchmarks/prompts.py [--runs 30]

Everything runs on a temporary cache with the real espeak-ng and sox. Targets (issue 5):
warm lookup ≤ 0.1 ms; cold espeak-ng + conversion to the delivered format < 60 ms for a
15-word sentence; 200 concurrent requests for one new prompt → 1 render. gTTS needs the
internet: offline, its figure is the cost of failing over to the next engine.

Baselines measured in the same run, printed with the ratio ours/baseline: for a cold
render, the bare pipeline by hand (``espeak-ng -w`` then ``sox`` to 16 kHz signed
linear, two subprocesses, no cache, no normalisation); for a warm lookup, one
``os.stat`` of the cached file (the least a cache on disk can do).

Neural providers (issue 19) run against the local fake providers of the tests
(tests/tts/speech_fakes.py: each API, a 0.6 s tone as the answer): the cold render per
provider, text → ``.sln16``, against a bare httpx POST of the same request to the same
fake followed by one sox conversion by hand (ours adds SSML, the breaker, trimming,
normalising and the atomic cache write). The fallback latency is what a live caller
waits for a prompt whose provider answers in 2 s: ``tts.live_budget``, then espeak-ng;
baseline the same cold espeak-ng render alone, measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from agi_callbot.config import load_settings
from agi_callbot.tts.audio import FORMATS, QUALITY_ORDER
from agi_callbot.tts.service import PromptService

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "tts"))
from speech_fakes import ENV, FakeSpeech  # the tests' fake providers

SENTENCES = {  # 15 words each
    "es": "Gracias por llamar a Acme, escuche con atención porque nuestras "
    "opciones del menú han cambiado.",
    "en": "Thank you for calling Acme support, please listen carefully because "
    "our menu options have changed.",
}


def figures(samples_s: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples_s)
    p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
    return f"median {statistics.median(ms):7.2f} ms   p90 {p90:7.2f} ms   (n={len(ms)})"


def service_for(root: Path, **overrides: object) -> PromptService:
    settings = load_settings(None, overrides={"data_dir": str(root), **overrides}, environ={})
    return PromptService.from_settings(settings)


def bare_pipeline(root: Path, language: str, text: str, runs: int) -> float:
    """Median seconds of espeak-ng → wav → sox → .sln16 by hand, as subprocesses."""
    timings = []
    for run in range(runs):
        wav, raw = root / f"bare-{run}.wav", root / f"bare-{run}.sln16"
        started = time.perf_counter()
        subprocess.run(["espeak-ng", "-v", language, "-w", str(wav), text], check=True)
        subprocess.run(
            [
                "sox",
                str(wav),
                "-r",
                "16000",
                "-c",
                "1",
                "-b",
                "16",
                "-e",
                "signed",
                "-t",
                "raw",
                str(raw),
            ],
            check=True,
        )
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


async def cold_espeak(root: Path, runs: int) -> None:
    """Text → the delivered format (.sln16), each run a prompt never rendered before."""
    service = service_for(root / "cold", **{"prompts.delivery": "http"})
    await service.resolve("warm the interpreter up", language="en")
    for language, text in SENTENCES.items():
        timings = []
        for run in range(runs):
            voice = {"rate": 160 + run}  # a new key each run, the same 15 words
            started = time.perf_counter()
            await service.resolve(text, language=language, voice=voice)
            timings.append(time.perf_counter() - started)
        base = bare_pipeline(root, language, text, max(5, runs // 3))
        ratio = statistics.median(timings) / base
        print(f"  cold espeak-ng [{language}] → .sln16   {figures(timings)}")
        print(
            f"    baseline espeak-ng + sox by hand: median {base * 1000:7.2f} ms   "
            f"ratio ours/baseline {ratio:.2f}"
        )
    await service.aclose()


async def cold_gtts(root: Path, runs: int) -> None:
    timings = []
    engine = "?"
    for run in range(runs):  # a fresh service each run: every failover is measured
        service = service_for(
            root / "gtts", **{"prompts.delivery": "http", "tts.engines": ["gtts", "espeak-ng"]}
        )
        started = time.perf_counter()
        rendered = await service.render(SENTENCES["es"], language="es", voice={"rate": 160 + run})
        timings.append(time.perf_counter() - started)
        engine = rendered.engine
        await service.aclose()
    note = "offline: gtts fails, then espeak-ng" if engine == "espeak-ng" else "online"
    print(f"  cold gtts → {engine} ({note})   {figures(timings)}")


async def cold_recording(root: Path, runs: int) -> None:
    recordings = root / "recordings" / "es"
    recordings.mkdir(parents=True)
    service = service_for(
        root / "rec", **{"prompts.delivery": "http", "tts.recordings_dir": str(root / "recordings")}
    )
    timings = []
    for run in range(runs):
        upload = recordings / f"welcome{run}.wav"
        subprocess.run(
            ["sox", "-n", "-r", "44100", "-c", "2", str(upload), "synth", "2", "sine", "440"],
            check=True,
        )
        started = time.perf_counter()
        await service.resolve(None, prompt_id=f"welcome{run}", language="es")
        timings.append(time.perf_counter() - started)
    print(f"  cold recording (2 s 44.1 kHz stereo wav) → .sln16   {figures(timings)}")
    await service.aclose()


async def warm(root: Path, runs: int) -> None:
    service = service_for(root / "warm")
    for prompt_id in (None, "welcome"):
        await service.resolve(SENTENCES["es"], prompt_id=prompt_id, language="es")
        timings = []
        for _ in range(runs * 200):
            started = time.perf_counter()
            await service.resolve(SENTENCES["es"], prompt_id=prompt_id, language="es")
            timings.append(time.perf_counter() - started)
        us = sorted(t * 1e6 for t in timings)
        label = "with a prompt id (recordings checked)" if prompt_id else "text only"
        print(
            f"  warm lookup, {label}: median {statistics.median(us):6.1f} µs   "
            f"p99 {us[int(0.99 * len(us))]:6.1f} µs   (n={len(us)})"
        )
    cached = next(p for p in (root / "warm").rglob("*") if p.is_file())
    stats = []
    for _ in range(runs * 200):
        started = time.perf_counter()
        os.stat(cached)
        stats.append(time.perf_counter() - started)
    base = statistics.median(stats) * 1e6
    print(
        f"    baseline one os.stat of the cached file: median {base:6.1f} µs   "
        f"ratio ours/baseline {statistics.median(us) / base:.1f}"
    )
    await service.aclose()


async def conversions(root: Path, runs: int) -> None:
    """From the cached .sln16 to each other format (what the first HTTP request costs)."""
    service = service_for(root / "conv", **{"prompts.delivery": "http"})
    keys = []
    for run in range(runs):
        url = await service.resolve(SENTENCES["es"], language="es", voice={"rate": 160 + run})
        keys.append(url.rsplit("/", 1)[1].split(".")[0])
    for ext in (f for f in QUALITY_ORDER if f != "sln16"):
        timings = []
        for key in keys:
            started = time.perf_counter()
            await service.derive(key, ext)
            timings.append(time.perf_counter() - started)
        print(f"  convert .sln16 → .{ext:6} ({FORMATS[ext].rate} Hz)   {figures(timings)}")
    await service.aclose()


async def single_flight(root: Path) -> None:
    service = service_for(root / "flight")
    started = time.perf_counter()
    results = await asyncio.gather(
        *(service.resolve(SENTENCES["en"], language="en") for _ in range(200))
    )
    elapsed = time.perf_counter() - started
    await service.aclose()
    print(
        f"  200 concurrent requests, one new prompt: renders == {service.stats['renders']}, "
        f"{len(set(results))} distinct answer(s), all answered in {elapsed * 1000:.1f} ms"
    )


def neural_service(root: Path, fake: FakeSpeech, kind: str, budget: str = "30s"):
    return service_for(
        root,
        **{
            "prompts.delivery": "http",
            "tts.engines": [kind, "espeak-ng"],
            "tts.providers": {kind: fake.provider(kind)},
            "tts.live_budget": budget,
        },
    )


async def cold_neural(root: Path, runs: int) -> None:
    """Text → .sln16 through each provider kind (the fake answers at once)."""
    os.environ.update(ENV)
    fake = await FakeSpeech().start()
    try:
        for kind in ("google", "azure", "polly", "openai"):
            service = neural_service(root / f"neural-{kind}", fake, kind)
            await service.render("warm the client up", language="es", voice={})
            timings = []
            for run in range(runs):
                started = time.perf_counter()
                rendered = await service.render(
                    f"{SENTENCES['es']} ({run})", language="es", voice={}
                )
                timings.append(time.perf_counter() - started)
                assert rendered.engine == kind, rendered.problems
            # baseline: the same request, bare, to the same fake, then sox by hand to
            # .sln16 (no SSML, no retries or breaker, no trim/normalise, no cache)
            engine = service.engines[kind]
            options = engine.options("es", {})
            assert options is not None
            bare = []
            async with httpx.AsyncClient() as client:
                for run in range(runs):
                    method, url, headers, body = engine.request(  # type: ignore[attr-defined]
                        f"{SENTENCES['es']} ({run})", options, ENV[engine.provider.key_env]
                    )  # type: ignore[attr-defined]
                    started = time.perf_counter()
                    response = await client.request(method, url, headers=headers, content=body)
                    audio = engine.audio(response)  # type: ignore[attr-defined]
                    sox = ["sox", "-V1", *audio.sox_args, "-", "-t", "raw", "-e", "signed"]
                    sox += ["-b", "16", "-r", "16000", "-c", "1", str(root / f"bare-{kind}.sln16")]
                    subprocess.run(sox, input=audio.data, check=True)
                    bare.append(time.perf_counter() - started)
            await service.aclose()
            ratio = statistics.median(timings) / statistics.median(bare)
            print(f"  cold {kind:6} (fake) → .sln16   {figures(timings)}")
            print(
                f"    baseline bare POST + sox by hand: median "
                f"{statistics.median(bare) * 1000:7.2f} ms   ratio ours/baseline {ratio:.2f}"
            )
    finally:
        await fake.stop()


async def live_fallback(root: Path, runs: int) -> None:
    """A caller's wait when the provider takes 2 s: the budget, then espeak-ng speaks."""
    os.environ.update(ENV)
    fake = await FakeSpeech(mode="slow", delay=2.0).start()
    budget = 0.2
    try:
        service = neural_service(root / "fallback", fake, "google", budget=f"{budget}s")
        alone = service_for(root / "fallback-espeak", **{"prompts.delivery": "http"})
        await alone.resolve("warm the interpreter up", language="es")
        waits, espeak = [], []
        for run in range(runs):
            text = f"{SENTENCES['es']} ({run})"
            started = time.perf_counter()
            await service.resolve(text, language="es")
            waits.append(time.perf_counter() - started)
            started = time.perf_counter()
            await alone.resolve(text, language="es")
            espeak.append(time.perf_counter() - started)
        await service.aclose()  # the background renders land in the cache
        landed = sum(e.meta.get("engine") == "google" for e in service.cache.entries())
        await alone.aclose()
        base = statistics.median(espeak)
        print(
            f"  live prompt, provider answering in 2 s, live_budget {budget * 1000:.0f} ms: "
            f"caller waited {figures(waits)}"
        )
        print(
            f"    baseline cold espeak-ng alone: median {base * 1000:7.2f} ms   "
            f"ratio ours/(budget + baseline) "
            f"{statistics.median(waits) / (budget + base):.2f}   "
            f"(then {landed}/{runs} neural renders in the cache for the next caller)"
        )
    finally:
        await fake.stop()


async def main(runs: int) -> None:
    logging.getLogger("agi_callbot").setLevel(logging.ERROR)  # the gtts failovers are expected
    print(f"prompts benchmark — {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        await cold_espeak(root, runs)
        await cold_gtts(root, min(runs, 5))
        await cold_neural(root, min(runs, 20))
        await live_fallback(root, min(runs, 5))
        await cold_recording(root, min(runs, 10))
        await conversions(root, min(runs, 10))
        await warm(root, runs)
        await single_flight(root)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    asyncio.run(main(parser.parse_args().runs))
