"""The operations pages in a real browser (Playwright driving Debian's chromium): teams
and their hold music, live calls, the outbox and the opt-in ledger, the dashboard.

One node per module (the real ``App``: FastAGI, HTTP with the console, outbox workers,
call records) on loopback ports in a thread, with a loopback SMS provider and a fake
AMI; calls come over a real FastAGI socket from the in-memory Asterisk. The browser and
the page are the console tests' own (conftest). ``CONSOLE_SCREENSHOTS=1``
writes the README's screenshots to docs/console/.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest

from agi_callbot.sim.asterisk import MemoryAsterisk
from agi_callbot.sim.setup import AsteriskSetup
from tests.console.browser import BROWSER_TESTS, serve_console
from tests.console.browser import shot as browser_shot
from tests.console.held_call import held_call
from tests.console.music import alias_db, two_tone_mp3
from tests.console.node import LoopbackPeers, node_settings

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = BROWSER_TESTS


@pytest.fixture(scope="module")
def peers():
    with LoopbackPeers() as peers:
        yield peers


@pytest.fixture(scope="module")
def server(tmp_path_factory, peers):
    settings = node_settings(tmp_path_factory.mktemp("node"), peers)
    yield from serve_console(settings, workers=True)


def shot(page, name: str) -> None:
    browser_shot(page, name, full_page=True)


def test_hold_music_upload_in_the_browser(page, server, peers, tmp_path):
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations
    page.goto(server.url + "/teams")
    card = page.locator("#team-ventas")
    assert card.locator("h2").inner_text() == "ventas"
    assert "soporte" in card.inner_text()  # the flow that transfers here
    card.locator("input[type=file]").set_input_files(str(two_tone_mp3(tmp_path)))
    card.locator("form.upload button[type=submit]").click()
    state = card.locator(".upload-state")
    state.filter(has_text="summer_song").wait_for(timeout=30_000)
    assert state.inner_text() == "Música cargada: summer_song"
    track = card.locator("[data-track=summer_song]")
    assert "sln16, sln, ulaw, alaw" in track.inner_text() or "alaw" in track.inner_text()
    folder = Path(server.settings.moh_dir) / "ventas"
    eight_khz = [folder / f"summer_song.{ext}" for ext in ("sln", "ulaw", "alaw")]
    for path in eight_khz:
        assert alias_db(path) <= -40, path
    # the browser can play it: the audio element loads the WAV rendition
    duration = track.locator("audio").evaluate(
        "a => new Promise(ok => { a.addEventListener('loadedmetadata', () => ok(a.duration));"
        " a.load(); })"
    )
    assert 2.5 < duration < 3.5
    # the queue as AMI reports it, live: Lucía goes on a break
    assert "Lucía" in card.locator(".queue").inner_text()
    summary = card.locator(".queue-summary")
    assert "1 disponibles" in summary.inner_text()
    assert "1 en espera" in summary.inner_text()
    # the caller has waited 37 s at the seed and the wait keeps growing on the page
    waited = re.search(r"(\d+):(\d\d) espera máx", summary.inner_text())
    assert waited and 37 <= int(waited[1]) * 60 + int(waited[2]) < 120

    # Lucía pauses on Asterisk: its QueueMemberPause event reaches the page, no poll
    asked = peers.ami.actions.count("QueueStatus")
    peers.loop.call_soon_threadsafe(peers.ami.pause, "ventas", "PJSIP/1001", True, "café")
    summary.filter(has_text="0 disponibles").wait_for(timeout=1000)
    lucia = card.locator(".queue tr", has_text="Lucía")
    assert lucia.locator(".badge").inner_text() == "en pausa"
    assert "café" in lucia.inner_text()
    shot(page, "teams")  # the README's: a member paused on Asterisk, shown from its event
    peers.loop.call_soon_threadsafe(peers.ami.pause, "ventas", "PJSIP/1001", False)
    summary.filter(has_text="1 disponibles").wait_for(timeout=1000)
    assert peers.ami.actions.count("QueueStatus") == asked
    page.locator("#reload-music").click()
    page.locator("#reload-result pre").wait_for()
    assert page.locator("#reload-result pre").inner_text() == "asterisk -rx 'moh reload'"
    assert "write = command" in page.locator("#reload-result").inner_text()
    # not audio: a clear message, nothing written
    notes = tmp_path / "notas.mp3"
    notes.write_text("no es música\n" * 50)
    card.locator("input[type=file]").set_input_files(str(notes))
    card.locator("form.upload button[type=submit]").click()
    state.filter(has_text="notas.mp3").wait_for(timeout=30_000)
    assert "notas.mp3: not a readable audio file" in state.inner_text()
    assert sorted(p.name for p in folder.iterdir() if "notas" in p.name) == []
    # remove
    track.locator("[data-remove]").click()
    track.wait_for(state="detached")
    assert not any(p.stem == "summer_song" for p in folder.iterdir())


def start_held_call(server, digits: str):
    """A call over a real FastAGI socket, held when it reaches a queue; (ast, release, done)."""

    async def setup():
        ast = MemoryAsterisk(
            AsteriskSetup("soporte", callerid="+34600111222", calleridname="Ana",
                          language="es", caller=digits)
        )  # fmt: skip
        release = asyncio.Event()
        return ast, release

    ast, release = in_node(server, setup())
    done = asyncio.run_coroutine_threadsafe(
        held_call(ast, "127.0.0.1", server.node.server.port, release), server.loop
    )
    return ast, release, done


def test_a_call_shows_live_within_a_second_and_leaves_when_it_ends(page, server, peers):
    page.goto(server.url + "/calls")
    page.locator("#live:not([hidden])").wait_for()
    ast, release, done = start_held_call(server, "wait:3,1")
    row = page.locator(f"#live-calls tr[data-uniqueid='{ast.environment.uniqueid}']")
    started = time.monotonic()
    row.wait_for(timeout=1000)  # within 1 s of the call's start
    assert time.monotonic() - started < 1.0
    assert row.locator("td").nth(0).inner_text() == "+34600***222"
    row.locator("td.block", has_text="sales").wait_for(timeout=5000)  # its block, on a tick
    assert page.locator("#live-count").inner_text() == "1"
    shot(page, "calls-live")
    server.loop.call_soon_threadsafe(release.set)
    done.result(15)
    row.wait_for(state="detached", timeout=2000)
    assert page.locator("#live-empty").is_visible()
    page.goto(server.url + "/calls?flow=soporte")
    link = page.locator("#recent-calls a").first
    link.click()
    page.wait_for_url(f"**/calls/{ast.environment.uniqueid}")
    assert "sales" in page.locator("ol.path").inner_text()
    assert "ventas" in page.inner_text("main")
    wait = page.locator("td[data-wait]").first.inner_text()  # held ~1 s in the queue
    assert wait.startswith("esperó ") and "medido por el callbot" in wait
    shot(page, "call")


def in_node(server, coro):
    """Run ``coro`` in the node's event loop, from the test's thread."""
    return asyncio.run_coroutine_threadsafe(coro, server.loop).result(30)


def messages(server, **kwargs):
    async def read():
        return await server.node.outbox.list(None, 100)

    return [
        m for m in in_node(server, read()) if all(getattr(m, k) == v for k, v in kwargs.items())
    ]


def wait_until(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_failed_sms_retried_from_the_page_and_revoked_optin_skips_whatsapp(page, server, peers):
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations
    peers.provider.reply(400, {"error": "number barred"})  # the provider refuses the first SMS
    _, _, done = start_held_call(server, "wait:3,2,wait:3,1")  # link by SMS, consent: 1
    done.result(30)
    (sms,) = wait_until(lambda: messages(server, channel="sms", status="failed"))
    page.goto(server.url + "/outbox")
    row = page.locator(f"tr[data-message='{sms.id}']")
    assert "fallido" in row.inner_text() and "+34600***222" in row.inner_text()
    optin = page.locator("#optins tr.current", has_text="+34600***222")
    assert "aceptado" in optin.inner_text()
    shot(page, "outbox")
    row.locator("input[name=id]").check()
    with page.expect_navigation():  # the page reloads once the retry is queued
        page.locator("#retry").click()  # confirmed (the dialog is accepted)
    wait_until(lambda: messages(server, id=sms.id, status="sent"))
    assert len([r for r in peers.provider.requests if r.path == "/send"]) == 2
    page.reload()
    assert "enviado" in page.locator(f"tr[data-message='{sms.id}']").inner_text()

    with page.expect_navigation():
        page.locator("#optins tr.current", has_text="+34600***222").locator("[data-revoke]").click()
    page.locator("#optins tr.current", has_text="revocado").wait_for()
    before = {m.id for m in messages(server, channel="whatsapp")}
    _, _, done = start_held_call(server, "wait:3,2,wait:3,2")  # no consent this time
    done.result(30)
    (skipped,) = wait_until(
        lambda: [m for m in messages(server, channel="whatsapp") if m.id not in before]
    )
    assert skipped.status == "skipped" and skipped.reason == "no opt-in"
    page.reload()
    new_row = page.locator(f"tr[data-message='{skipped.id}']")
    assert "omitido" in new_row.inner_text() and "no opt-in" in new_row.inner_text()


def test_dashboard_after_the_calls(page, server, peers):
    _, release, done = start_held_call(server, "wait:3,1")
    server.loop.call_soon_threadsafe(release.set)
    done.result(30)
    page.goto(server.url + "/dashboard")
    assert int(page.locator("[data-figure=calls_last_hour]").inner_text()) >= 1
    assert page.locator("[data-chart=per_minute] svg rect").count() == 60
    assert page.locator("[data-chart=outcomes] svg rect").count() == 5
    assert "sin agente" in page.locator("[data-chart=outcomes]").inner_text()
    waits = page.locator("[data-chart=transfer_waits]")
    assert "ventas" in waits.inner_text() and "mediana" in waits.inner_text()
    assert "ventas" in page.locator("[data-table=transfer_waits]").inner_text()
    shot(page, "dashboard")
