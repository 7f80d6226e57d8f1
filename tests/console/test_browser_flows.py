"""The flows list and the Prompts tab in a real browser (Playwright driving Debian's
chromium), in English: renaming a flow tells which flows' sub-flow calls followed;
deleting a flow others call asks first, naming them; the Prompts tab renders, plays,
takes and removes a recording. ``CONSOLE_SCREENSHOTS=1`` writes the renamed flow's
screenshot to docs/console/."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.console.browser import BROWSER_TESTS, shot

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
pytestmark = BROWSER_TESTS


def row_of(page, flow: str):
    return page.locator(f"table.flows tbody tr[data-flow='{flow}']")


def test_rename_a_sub_flow_and_delete_one_that_is_called(english, server):
    page, flows = english, Path(server.settings.flows_dir)
    page.goto(server.url + "/flows")
    assert page.locator("h1").inner_text() == "Flows"
    expect(row_of(page, "common/survey_offer").locator(".called-by")).to_have_text(
        "Sub-flow of: demo"
    )
    asked: list[str] = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.accept("common/offer")

    page.once("dialog", answer)
    row_of(page, "common/survey_offer").get_by_role(
        "button", name="Rename common/survey_offer"
    ).click()
    notice = page.locator("#flows-notice")
    expect(notice).to_be_visible()
    assert asked == ["New name for “common/survey_offer”"]
    assert notice.inner_text() == (
        "“common/survey_offer” is now “common/offer”. Sub-flow calls updated in: demo "
        "(a new version of each, the previous one in its history)."
    )
    assert "subflow: {flow: common/offer," in (flows / "demo.yaml").read_text()
    assert not (flows / "common" / "survey_offer.yaml").exists()
    expect(row_of(page, "common/offer").locator(".called-by")).to_have_text("Sub-flow of: demo")
    shot(page.locator("section.page"), "flow-renamed")  # the sdist carries it: small

    # deleting it asks first, naming the flow that calls it; "cancel" keeps it
    questions: list[str] = []

    def cancel(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", cancel)
    row_of(page, "common/offer").get_by_role("button", name="Delete common/offer").click()
    page.wait_for_timeout(300)
    assert len(questions) == 1 and "called as a sub-flow by demo" in questions[0]
    assert (flows / "common" / "offer.yaml").exists()
    expect(row_of(page, "common/offer")).to_be_visible()


def test_prompts_tab_in_english(english, server, tmp_path):
    page = english
    page.goto(server.url + "/flows/support")
    page.wait_for_selector("#canvas g.node[data-block]")
    tab = page.get_by_role("tab", name="Prompts")
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")
    rows = page.locator("#prompt-rows tr")
    rows.first.wait_for()
    headers = page.locator("#panel-prompts thead th").all_inner_texts()
    assert headers[:4] == ["Prompt", "Language", "Text", "State"], headers

    def welcome():
        return page.locator("#prompt-rows tr", has=page.locator("code", has_text="welcome")).first

    expect(welcome().locator(".state")).to_have_text("Not rendered")
    assert welcome().get_by_role("button", name="▶ Play: welcome (en)").is_disabled()
    with page.expect_response(lambda r: r.url.endswith("/prompts/render")):
        welcome().get_by_role("button", name="Render: welcome (en)").click()
    expect(welcome().locator(".state")).to_have_text("Rendered")
    with page.expect_response(lambda r: r.url.endswith(".wav")) as played:
        welcome().get_by_role("button", name="▶ Play: welcome (en)").click()
    assert played.value.status == 200
    assert played.value.headers["content-type"] == "audio/wav"
    page.wait_for_function("() => document.getElementById('prompt-audio').duration > 0")

    recording = tmp_path / "welcome.wav"
    subprocess.run(
        ["sox", "-n", "-r", "22050", str(recording), "synth", "0.4", "sine", "300"], check=True
    )
    with page.expect_response(lambda r: r.url.endswith("/prompts/recording")):
        welcome().get_by_label("Upload recording").set_input_files(str(recording))
    expect(welcome().locator(".state")).to_have_text("Recording: welcome.wav")
    with page.expect_response(lambda r: "/prompts/recording" in r.url):
        welcome().get_by_role("button", name="Remove recording: welcome (en)").click()
    expect(welcome().locator(".state")).to_have_text("Rendered")
