"""Teams and their hold music over the API: the teams the flows name and the queues AMI
reports (a fake AMI speaking Asterisk 22's wire format), uploads through the real
pipeline (ffmpeg + sox) with no aliasing at 8 kHz, listen, remove, ``moh reload``."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient, TestServer

from agi_callbot.asterisk.ami import AmiClient
from agi_callbot.asterisk.teams import EVENTS, Teams
from agi_callbot.console import mount
from tests.asterisk.fake_ami import FakeAmi, FakeCaller, FakeMember, FakeQueue
from tests.console.conftest import TOKEN, console_settings
from tests.console.music import alias_db, tone_db, two_tone_mp3, wav_rate
from tests.console.test_calls import next_event

BEARER = {"Authorization": f"Bearer {TOKEN}"}


def upload(path, name=None):
    form = FormData()
    form.add_field("file", path.read_bytes(), filename=name or path.name)
    return form


async def test_teams_lists_the_flows_teams_with_ami_off(client, bearer):
    r = await client.get("/api/teams", headers=bearer)
    assert r.status == 200
    data = await r.json()
    assert data["ami"] == {
        "enabled": False,
        "connected": False,
        "error": "AMI is off (ami.enabled: false): queue states are not known",
    }
    teams = {t["name"]: t for t in data["teams"]}
    assert teams["ventas"]["flows"] == ["soporte"]
    assert teams["ventas"]["music_class"] == "ventas"
    assert "[ventas]\nmode = files\ndirectory = " in teams["ventas"]["conf_section"]
    assert teams["ventas"]["queue"] is None
    r = await client.post("/api/teams/reload", headers=bearer)
    assert await r.json() == {
        "reloaded": False,
        "reason": "AMI is off (ami.enabled: false): queue states are not known",
        "cli": "asterisk -rx 'moh reload'",
    }


async def test_upload_converts_without_aliasing_then_listen_and_remove(
    client, bearer, settings, tmp_path
):
    mp3 = two_tone_mp3(tmp_path)
    r = await client.post("/api/teams/ventas/music", data=upload(mp3), headers=bearer)
    assert r.status == 201, await r.text()
    data = await r.json()
    assert data["track"] == "summer_song" and data["music_class"] == "ventas"
    folder = settings.moh_dir / "ventas"
    assert sorted(p.name for p in folder.iterdir()) == [
        f"summer_song.{ext}" for ext in sorted(settings.prompts.formats)
    ]
    for ext in ("sln", "ulaw", "alaw"):  # every 8 kHz file
        assert alias_db(folder / f"summer_song.{ext}") <= -40
    assert tone_db(folder / "summer_song.sln16", 6000) > -3  # 16 kHz keeps the 6 kHz tone
    # the page lists it; the browser plays the 16 kHz rendition as WAV
    teams = {
        t["name"]: t
        for t in (await (await client.get("/api/teams", headers=bearer)).json())["teams"]
    }
    (track,) = teams["ventas"]["tracks"]
    assert track["name"] == "summer_song" and 2.5 < track["seconds"] < 3.5
    r = await client.get("/api/teams/ventas/music/summer_song", headers=bearer)
    assert r.status == 200 and r.content_type == "audio/wav"
    assert wav_rate(await r.read()) == 16000
    r = await client.delete("/api/teams/ventas/music/summer_song", headers=bearer)
    assert r.status == 200 and len((await r.json())["removed"]) == 4
    assert list(folder.iterdir()) == []
    r = await client.delete("/api/teams/ventas/music/summer_song", headers=bearer)
    assert r.status == 404


async def test_bad_uploads_are_refused_with_a_clear_message(client, bearer, settings, tmp_path):
    fake = tmp_path / "notes.mp3"
    fake.write_text("these are my notes, not music\n" * 20)
    r = await client.post("/api/teams/ventas/music", data=upload(fake), headers=bearer)
    assert r.status == 422
    message = (await r.json())["error"]
    assert message.startswith("notes.mp3: not a readable audio file"), message
    assert str(tmp_path) not in message
    r = await client.post("/api/teams/ventas/music", data=upload(fake, "notes.txt"), headers=bearer)
    assert r.status == 415
    assert "notes.txt: not a music file" in (await r.json())["error"]
    r = await client.post("/api/teams/../music", data=upload(fake), headers=bearer)
    assert r.status in (400, 404)
    r = await client.post("/api/teams/ventas/music", json={"file": "x"}, headers=bearer)
    assert r.status == 400
    assert list((settings.moh_dir / "ventas").iterdir()) == []
    leftovers = settings.data_dir / "console-uploads"
    assert not leftovers.exists() or list(leftovers.iterdir()) == []


async def test_an_upload_over_the_size_limit_is_refused(tmp_path):
    settings = console_settings(tmp_path, console={"max_upload_bytes": 100_000})
    app = web.Application()
    mount(app, settings, token=TOKEN)
    async with TestClient(TestServer(app)) as client:
        await _too_big(client, settings)


async def _too_big(client, settings):
    bearer = BEARER
    form = FormData()
    form.add_field("file", b"\0" * 300_000, filename="big.wav")
    r = await client.post("/api/teams/ventas/music", data=form, headers=bearer)
    assert r.status == 413
    assert "big.wav: larger than" in (await r.json())["error"]
    assert list((settings.moh_dir / "ventas").iterdir()) == []


@pytest.fixture
async def fake_ami():
    queues = {
        "ventas": FakeQueue(
            members=[
                FakeMember("Lucia", "PJSIP/1001"),
                FakeMember("Marcos", "PJSIP/1002", paused=True, paused_reason="lunch"),
                FakeMember("Sara", "PJSIP/1003", status=2, in_call=True),
            ],
            callers=[FakeCaller("PJSIP/t-1", "1700.1", "+34600111222", "Ana", wait=42)],
        ),
        "facturacion": FakeQueue(members=[FakeMember("Pablo", "PJSIP/1010", status=5)]),
    }
    fake = FakeAmi(queues=queues, cli={"moh reload": []})
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def ami_client(settings, fake_ami):
    client = AmiClient("127.0.0.1", fake_ami.port, "callbot", "callbot", timeout=2.0, events=EVENTS)
    teams = Teams(client)
    await teams.start()
    assert await client.wait_ready(5)
    async with asyncio.timeout(5):
        while teams.state.seeded_at is None:  # the first QueueStatus
            await asyncio.sleep(0.01)
    app = web.Application()
    mount(app, settings, token=TOKEN, services=SimpleNamespace(teams=teams))
    async with TestClient(TestServer(app)) as http:
        yield http
    await teams.aclose()


async def test_queues_from_ami_and_moh_reload(ami_client, fake_ami):
    data = await (await ami_client.get("/api/teams", headers=BEARER)).json()
    assert data["ami"]["connected"] is True
    teams = {t["name"]: t for t in data["teams"]}
    assert set(teams) >= {"ventas", "soporte", "facturacion"}  # flows + AMI + class folders
    ventas = teams["ventas"]["queue"]
    assert [(m["name"], m["state"]) for m in ventas["members"]] == [
        ("Lucia", "available"),
        ("Marcos", "paused"),
        ("Sara", "busy"),
    ]
    assert ventas["members"][1]["paused_reason"] == "lunch"
    assert (ventas["available"], ventas["callers"], ventas["longest_wait_s"]) == (1, 1, 42)
    assert teams["facturacion"]["queue"]["members"][0]["state"] == "unavailable"
    assert teams["facturacion"]["flows"] == []
    assert teams["soporte"]["queue"] is None  # named by a flow, unknown to Asterisk

    r = await ami_client.post("/api/teams/reload", headers=BEARER)
    body = await r.json()
    assert body["reloaded"] is False and "write = command" in body["reason"]
    assert body["cli"] == "asterisk -rx 'moh reload'"
    fake_ami.allow_command = True
    body = await (await ami_client.post("/api/teams/reload", headers=BEARER)).json()
    assert body == {"reloaded": True, "output": []}
    assert fake_ami.actions.count("Command") == 2


async def test_the_live_feed_sends_a_snapshot_then_what_ami_events_changed(ami_client, fake_ami):
    """A member paused on Asterisk shows on the page from its event, without a poll: the
    stream sends it well within a second and nothing asked Asterisk for the queues."""
    from agi_callbot.console import live

    asked = fake_ami.actions.count("QueueStatus")
    async with ami_client.get("/api/teams/stream", headers=BEARER) as r:
        assert r.headers["Content-Type"] == "text/event-stream"
        first = await next_event(r)
        assert first[0] == "snapshot"
        assert first[1]["queues"]["ventas"]["available"] == 1
        fake_ami.pause("ventas", "PJSIP/1001", reason="descanso")  # Lucia: QueueMemberPause
        event, data = await asyncio.wait_for(next_event(r), 1)
        assert event == "queues" and data["queues"]["ventas"]["available"] == 0
        lucia = data["queues"]["ventas"]["members"][0]
        assert (lucia["state"], lucia["paused_reason"]) == ("paused", "descanso")
        fake_ami.pause("ventas", "PJSIP/1002", paused=False)  # Marcos back
        event, data = await asyncio.wait_for(next_event(r), 1)
        assert data["queues"]["ventas"]["available"] == 1
    assert fake_ami.actions.count("QueueStatus") == asked
    assert "QueueSummary" not in fake_ami.actions
    assert live.QUEUE_SIZE > 0
