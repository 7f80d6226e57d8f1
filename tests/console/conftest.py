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
