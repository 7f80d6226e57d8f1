"""The console in a real browser (Playwright driving Debian's chromium).

One server and one browser per module keep these fast (module, not session: Playwright's
sync API holds an event loop on the main thread while it is open, which the asyncio tests
of later modules could not run beside); each test gets a fresh browser context.
``CONSOLE_SCREENSHOTS=1`` writes the README's screenshots to docs/console/.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.console.browser import BROWSER_TESTS, shot

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
pytestmark = BROWSER_TESTS


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
    page.click(f"#block-list [data-block-link='{block}']")
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
    page.locator("#dirty").wait_for(state="hidden")
    assert "Hola, bienvenido a Acme." in path.read_text()


def field(page, selector: str, value: str) -> None:
    """Type into a form field and leave it, as an admin does (the edit goes out on change)."""
    page.fill(selector, value)
    with page.expect_response(lambda r: r.url.endswith("/edit")):
        page.locator(selector).press("Tab")


def choose(page, selector: str, value: str) -> None:
    with page.expect_response(lambda r: r.url.endswith("/edit")):
        page.select_option(selector, value)


def add_block(page, kind: str, name: str) -> None:
    page.once("dialog", lambda dialog: dialog.accept(name))
    page.click(f"[data-add-block='{kind}']")
    page.wait_for_selector(f"#inspector form[data-block='{name}']")


def test_build_the_ventas_sms_flow_only_through_the_ui(page, server):
    """An admin who never saw YAML: welcome, a menu where 1 goes to team ventas with its
    hold music and 2 sends an SMS (content + origin number) then ends with a final
    message; published, it validates and a real FastAGI call takes it."""
    page.goto(server.url + "/flows")
    page.fill("#new-name", "ventas_sms")
    page.select_option("#new-starter", "empty-es")
    page.click("#new-flow button[type=submit]")
    page.wait_for_url("**/flows/ventas_sms")
    page.wait_for_selector("#canvas g.node[data-block='bienvenida']")
    pick(page, "bienvenida")
    field(page, "#b-say", "Bienvenido a Acme.")

    add_block(page, "menu", "menu_principal")
    field(page, "#b-prompt", "Para ventas pulse 1. Para recibir un SMS pulse 2.")
    add_block(page, "transfer", "ventas")
    field(page, "#b-team", "ventas")
    field(page, "#b-music", "ventas")
    add_block(page, "hangup", "fin_sms")
    field(page, "#b-message", "Le hemos enviado un SMS. Adiós.")
    page.select_option("#b-actions-kind", "sms")
    with page.expect_response(lambda r: r.url.endswith("/edit")):
        page.click("[data-add-action]")
    page.wait_for_selector("#b-actions-0-from")
    field(page, "#b-actions-0-from", "+34910000000")
    field(page, "#b-actions-0-text", "Acme: su enlace https://acme.example/ventas")

    pick(page, "menu_principal")
    for digit, target in (("1", "ventas"), ("2", "fin_sms")):
        page.fill("#new-digit", digit)
        with page.expect_response(lambda r: r.url.endswith("/edit")):
            page.click("#add-option")
        page.wait_for_selector(f"#o-{digit}")
        choose(page, f"#o-{digit}", target)
    choose(page, "#b-on_fail", "despedida")
    pick(page, "ventas")
    choose(page, "#b-on_no_answer", "despedida")
    # after the call, a WhatsApp template (sent only with the caller's opt-in on record)
    page.click("[data-pick='']")
    page.wait_for_selector("#inspector form[data-block='']")
    page.select_option("#f-hangup-kind", "whatsapp")
    with page.expect_response(lambda r: r.url.endswith("/edit")):
        page.click("[data-add-action]")
    page.wait_for_selector("#f-hangup-0-template")
    assert "encuesta (es, 1 param.)" in page.locator("#f-hangup-0-template").inner_text()
    choose(page, "#f-hangup-0-template", "encuesta")
    field(page, "#f-hangup-0-params", "${caller_name}")
    pick(page, "bienvenida")
    choose(page, "#b-next", "menu_principal")
    expect(page.locator("#problems li").first).to_have_text(re.compile("Sin problemas|No problems"))
    page.wait_for_selector("#canvas g.node[data-block='fin_sms']")
    shot(page, "built-in-the-browser")

    expect(page.locator("#publish")).to_be_enabled()
    with page.expect_response(lambda r: r.request.method == "PUT"):
        page.click("#publish")
    page.locator("#dirty").wait_for(state="hidden")
    path = server.settings.flows_dir / "ventas_sms.yaml"
    text = path.read_text()
    assert "music: ventas" in text and "+34910000000" in text and "template: encuesta" in text

    node_env = {
        **os.environ,
        "CALLBOT_FLOWS_DIR": str(server.settings.flows_dir),
        "CALLBOT_DATA_DIR": str(server.settings.data_dir),
        "CALLBOT_MOH_DIR": str(server.settings.moh_dir),
        "CALLBOT_TEMPLATES": json.dumps(server.settings.templates),
    }
    validate = subprocess.run(
        [sys.executable, "-m", "agi_callbot", "validate", str(path)],
        capture_output=True, text=True, timeout=60, check=False, env=node_env,
    )  # fmt: skip
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert validate.stdout.strip() == ""

    commands = server.call("ventas_sms", dtmf="1", queues={"ventas": "answer"})
    assert any(c.startswith('EXEC Queue "ventas,m(ventas)') for c in commands), commands
    commands = server.call("ventas_sms", dtmf="2")
    assert not any(c.startswith("EXEC Queue") for c in commands)
    assert commands[-1].startswith("HANGUP")

    # Try it with digit 2: the prompts play in the browser, the SMS shows
    page.click("#open-try")
    with page.expect_response(lambda r: "/try" in r.url):
        page.click("#try-call")
    page.wait_for_selector("#try-transcript .t-wait")
    with (
        page.expect_response(lambda r: "/api/prompts/" in r.url) as audio,
        page.expect_response(lambda r: "/try" in r.url),
    ):
        page.click("#drawer [data-key='2']")
    assert audio.value.status == 200 and audio.value.header_value("content-type") == "audio/wav"
    message = page.locator("#try-transcript .t-message", has_text="sms →")
    message.wait_for()
    assert (
        "encuesta" in page.locator("#try-transcript .t-message", has_text="whatsapp").inner_text()
    )
    assert "+34910000000" in message.inner_text() and "acme.example/ventas" in message.inner_text()
    assert page.locator("#try-audio").get_attribute("src").endswith(".wav")
    shot(page, "try-it")
    page.fill("#try-case-name", "pide el SMS")
    with page.expect_response(lambda r: r.url.endswith("/cases")):
        page.click("#try-case button[type=submit]")
    cases = server.settings.flows_dir / "ventas_sms.test.yaml"
    run = subprocess.run(
        [sys.executable, "-m", "agi_callbot", "test", str(cases)],
        capture_output=True, text=True, timeout=120, check=False, env=node_env,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr


def test_prompts_tab_render_and_recording(page, server, tmp_path):
    open_designer(page, server, "support")
    page.click("#tab-prompts")
    rows = page.locator("#prompt-rows tr")
    rows.first.wait_for()
    assert rows.count() >= 8
    welcome = page.locator("#prompt-rows tr", has=page.locator("code", has_text="welcome")).first
    with page.expect_response(lambda r: r.url.endswith("/prompts/render")):
        welcome.get_by_role("button", name="Generar: welcome (en)").click()
    welcome = page.locator("#prompt-rows tr", has=page.locator("code", has_text="welcome")).first
    expect(welcome.locator(".state")).to_have_text("Generada")
    assert welcome.get_by_role("button", name="▶ Escuchar: welcome (en)").is_enabled()
    recording = tmp_path / "welcome.wav"
    subprocess.run(
        ["sox", "-n", "-r", "22050", str(recording), "synth", "0.4", "sine", "300"], check=True
    )
    with page.expect_response(lambda r: r.url.endswith("/prompts/recording")):
        welcome.locator("input[type=file]").set_input_files(str(recording))
    welcome = page.locator("#prompt-rows tr", has=page.locator("code", has_text="welcome")).first
    expect(welcome.locator(".state")).to_have_text("Grabación: welcome.wav")
    shot(page, "prompts")
