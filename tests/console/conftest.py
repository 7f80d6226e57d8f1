"""A console on a temporary flows folder (copies of the example flows)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from agi_callbot.config import load_settings
from agi_callbot.console import mount

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TOKEN = "test-token-0123456789"


def console_settings(tmp_path: Path, **overrides):
    flows = tmp_path / "flows"
    shutil.copytree(EXAMPLES / "flows", flows)
    moh = tmp_path / "moh"
    for team in ("ventas", "soporte", "sales", "support"):
        (moh / team).mkdir(parents=True)
    values = {
        "flows_dir": str(flows),
        "data_dir": str(tmp_path / "var"),
        "moh_dir": str(moh),
        "tts.recordings_dir": str(tmp_path / "recordings"),
        "templates": {
            "encuesta": {"language": "es", "params": 1},
            "survey": {"language": "en", "params": 1},
        },
        **overrides,
    }
    return load_settings(None, overrides=values, environ={})


@pytest.fixture
def settings(tmp_path):
    return console_settings(tmp_path)


@pytest.fixture
async def client(settings):
    app = web.Application(client_max_size=3 * 1024 * 1024)
    mount(app, settings, token=TOKEN)
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.fixture
def bearer():
    return {"Authorization": f"Bearer {TOKEN}"}


def pytest_collection_modifyitems(config, items):
    """Browser tests run last. Playwright's sync API switches greenlets, which leaves
    CPython 3.11's recursion bookkeeping off for code that runs after it in the same
    process (``ast.parse`` raises "AST constructor recursion depth mismatch" in the walls
    test); at the end of the session nothing runs after them."""
    browser = [item for item in items if item.get_closest_marker("browser")]
    if browser:
        items[:] = [item for item in items if not item.get_closest_marker("browser")] + browser


# ----------------------------------------------------------------------- browser tests
# One chromium per module (module, not session: Playwright's sync API holds an event
# loop on the main thread while it is open, which the asyncio tests of later modules
# could not run beside); each test gets a fresh context logged in to the module's
# ``server`` fixture.


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    from tests.console.browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A whole node on copies of the example flows (a module may bring its own)."""
    from tests.console.browser import serve_console

    yield from serve_console(console_settings(tmp_path_factory.mktemp("console")))


@pytest.fixture
def page(browser, server):
    from tests.console.browser import logged_in

    with logged_in(browser, server, "es-ES") as page:
        yield page


@pytest.fixture
def english(browser, server):
    from tests.console.browser import logged_in

    with logged_in(browser, server, "en-US") as page:
        yield page
