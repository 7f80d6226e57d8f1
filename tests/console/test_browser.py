"""The console in a real browser (Playwright driving Debian's chromium).

One server and one browser per module keep these fast (module, not session: Playwright's
sync API holds an event loop on the main thread while it is open, which the asyncio tests
of later modules could not run beside); each test gets a fresh browser context.
``CONSOLE_SCREENSHOTS=1`` writes the README's screenshots to docs/console/.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.console.browser import CHROMIUM, CHROMIUM_ARGS, screenshot_dir, serve_console
from tests.console.conftest import console_settings

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]
SHOTS = os.environ.get("CONSOLE_SCREENSHOTS") == "1"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    settings = console_settings(tmp_path_factory.mktemp("console"))
    yield from serve_console(settings)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="es-ES")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")  # 4xx we test
            else None
        ),
    )
    page.goto(server.login_url)
    yield page
    context.close()
    assert not errors, errors


def shot(page, name: str) -> None:
    if SHOTS:
        folder = screenshot_dir()
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"))


def test_login_with_the_printed_token(browser, server):
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(server.url + "/flows")
    assert page.url.endswith("/login")
    shot(page, "login")
    page.fill("#secret", "wrong")
    page.click("button[type=submit]")
    assert page.locator("[role=alert]").inner_text() == "Wrong token or password."
    page.goto(server.login_url)
    assert page.url.endswith("/flows")
    assert page.locator("h1").inner_text() == "Flows"
    context.close()


def test_flows_list(page, server):
    page.goto(server.url + "/flows")
    rows = page.locator("table.flows tbody tr")
    names = [rows.nth(i).get_attribute("data-flow") for i in range(rows.count())]
    assert {"soporte", "support", "demo"} <= set(names)
    shot(page, "flows")


def test_designer_picture_click_to_edit(page, server):
    page.goto(server.url + "/flows/soporte")
    page.wait_for_selector("#canvas g.node[data-block='main_menu']")
    page.click("#canvas g.node[data-block='main_menu']")
    page.wait_for_selector("#inspector form[data-block='main_menu']")
    assert page.locator("#inspector .kind-label").inner_text() == "Menú hablado"
    shot(page, "designer")


def open_designer(page, server, flow: str) -> None:
    page.goto(f"{server.url}/flows/{flow}")
    page.wait_for_selector("#canvas g.node[data-block]")


def pick(page, block: str) -> None:
    page.click(f"#canvas g.node[data-block='{block}']")
    page.wait_for_selector(f"#inspector form[data-block='{block}']")


def test_every_block_of_the_demo_has_its_form(page, server):
    open_designer(page, server, "demo")
    blocks = page.eval_on_selector_all(
        "#canvas g.node[data-block]", "ns => ns.map(n => n.dataset.block)"
    )
    assert len(blocks) >= 12
    for block in blocks:
        pick(page, block)
        assert page.locator("#inspector .kind-label").count() == 1
        assert page.locator("#inspector [data-path]").count() >= 2, block
    pick(page, "main_menu")
    assert page.locator("#inspector .option").count() == 6
    assert page.locator("#inspector .action strong").first.inner_text() in (
        "Enviar SMS",
        "Send SMS",
    )


def test_invalid_field_shows_the_error_there_and_saves_nothing(page, server):
    path = server.settings.flows_dir / "support.yaml"
    before = path.read_text()
    open_designer(page, server, "support")
    pick(page, "main_menu")
    field = page.locator("#b-timeout")
    field.fill("soon")
    field.press("Tab")
    problem = page.locator("[data-field='blocks.main_menu.menu.timeout'] .field-problem")
    problem.wait_for(state="visible")
    assert "soon" in problem.inner_text() or "duration" in problem.inner_text()
    assert field.get_attribute("aria-invalid") == "true"
    assert page.locator("#publish").is_disabled()
    page.keyboard.press("Control+s")
    assert path.read_text() == before
    shot(page, "invalid-field")


def test_stale_edit_gets_the_conflict_view(page, server):
    path = server.settings.flows_dir / "soporte.yaml"
    open_designer(page, server, "soporte")
    pick(page, "welcome")
    page.fill("#b-say", "Hola, bienvenido a Acme.")
    page.locator("#b-say").press("Tab")
    page.wait_for_selector("#dirty:not([hidden])")
    # someone else publishes first
    path.write_text(path.read_text().replace("retries: 2", "retries: 3", 1))
    page.click("#publish")
    page.wait_for_selector("#conflict[open]")
    diff = page.locator("#conflict-diff").inner_text()
    assert "retries: 3" in diff and "Hola, bienvenido a Acme." in diff
    shot(page, "conflict")
    assert "retries: 3" in path.read_text() and "bienvenido" not in path.read_text()
    page.click("#conflict-mine")
    page.wait_for_selector("#dirty[hidden]", state="attached")
    page.wait_for_function("document.getElementById('dirty').hidden")
    assert "Hola, bienvenido a Acme." in path.read_text()
