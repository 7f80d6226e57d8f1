"""Prompts of a flow: listed with their render state, rendered, replaced by a recording."""

from __future__ import annotations

import subprocess

import aiohttp

from tests.console.conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def prompts(client):
    r = await client.get("/api/flows/soporte/prompts", headers=AUTH)
    assert r.status == 200
    return {(p["prompt_id"], p["language"]): p for p in (await r.json())["prompts"]}


async def test_render_then_play_as_wav(client):
    before = await prompts(client)
    welcome = before[("welcome", "es")]
    assert welcome["text"].startswith("Hola") and not welcome["dynamic"]
    r = await client.post(
        "/api/flows/soporte/prompts/render",
        json={"prompt_id": "welcome", "language": "es"},
        headers=AUTH,
    )
    assert r.status == 200, await r.text()
    rendered = await r.json()
    assert rendered["rendered"] and rendered["audio"].endswith(".wav")
    audio = await client.get(rendered["audio"], headers=AUTH)
    assert audio.status == 200 and audio.content_type == "audio/wav"
    assert (await audio.read())[:4] == b"RIFF"


def upload(prompt_id: str, data: bytes, filename: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("prompt_id", prompt_id)
    form.add_field("language", "es")
    form.add_field("file", data, filename=filename, content_type="application/octet-stream")
    return form


async def test_a_recording_replaces_the_voice(client, settings, tmp_path):
    source = tmp_path / "hola.wav"
    subprocess.run(
        ["sox", "-n", "-r", "44100", "-c", "2", str(source), "synth", "0.5", "sine", "440"],
        check=True,
    )
    r = await client.post(
        "/api/flows/soporte/prompts/recording",
        data=upload("welcome", source.read_bytes(), "hola.wav"),
        headers=AUTH,
    )
    assert r.status == 200, await r.text()
    body = await r.json()
    assert body["recording"] == "welcome.wav" and body["rendered"]
    assert (settings.tts.recordings_dir / "es" / "welcome.wav").is_file()
    r = await client.delete(
        "/api/flows/soporte/prompts/recording?prompt_id=welcome&language=es", headers=AUTH
    )
    assert r.status == 200 and (await r.json())["recording"] is None


async def test_not_audio_and_too_big_are_refused(client, settings):
    r = await client.post(
        "/api/flows/soporte/prompts/recording",
        data=upload("welcome", b"%PDF-1.4 not audio", "x.wav"),
        headers=AUTH,
    )
    assert r.status == 400 and "not audio" in (await r.json())["error"]
    r = await client.post(
        "/api/flows/soporte/prompts/recording",
        data=upload("welcome", b"data", "notes.txt"),
        headers=AUTH,
    )
    assert r.status == 400 and "not an audio file name" in (await r.json())["error"]
    big = b"\0" * (settings.console.max_upload_bytes + 1)
    r = await client.post(
        "/api/flows/soporte/prompts/recording", data=upload("welcome", big, "big.wav"), headers=AUTH
    )
    assert r.status == 413
    assert not (settings.tts.recordings_dir / "es").exists() or not list(
        (settings.tts.recordings_dir / "es").iterdir()
    )
    assert (await client.get("/api/flows", headers=AUTH)).status == 200


async def test_unknown_prompt(client):
    r = await client.post(
        "/api/flows/soporte/prompts/render",
        json={"prompt_id": "nope", "language": "es"},
        headers=AUTH,
    )
    assert r.status == 400
