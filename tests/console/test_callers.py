"""Renaming a flow rewrites the other flows' sub-flow calls to it in the same operation
(only those lines change, each a new version in history, all or nothing); deleting a
flow that others call needs a confirmation naming them."""

from __future__ import annotations

import difflib
import errno
import tempfile
from pathlib import Path

from agi_callbot.console.callers import retarget, subflow_paths
from agi_callbot.flow.loader import FlowLibrary

#: a second caller, in a folder of its own, with the short form ``subflow: <name>``
CALLER = """\
# calls the survey twice, in both forms
flow: otros/encuesta
language: es
start: first
blocks:
  first:
    subflow: common/survey_offer   # the short form
    next: second
  second:
    subflow:
      flow: "common/survey_offer"
      vars: {channel_name: SMS}
"""


def changed_lines(before: str, after: str) -> list[str]:
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def add_caller(settings) -> Path:
    path = Path(settings.flows_dir) / "otros" / "encuesta.yaml"
    path.parent.mkdir()
    path.write_text(CALLER)
    return path


async def version_of(client, bearer, name):
    return (await (await client.get(f"/api/flows/{name}", headers=bearer)).json())["version"]


async def rename_survey(client, bearer):
    """Rename common/survey_offer (which demo calls) to common/offer."""
    base = await version_of(client, bearer, "common/survey_offer")
    return await client.post(
        "/api/flows/common/survey_offer/rename",
        json={"new_name": "common/offer", "base_version": base},
        headers=bearer,
    )


def test_retarget_changes_only_the_sub_flow_lines():
    after = retarget(CALLER, "common/survey_offer", "common/offer")
    assert changed_lines(CALLER, after) == [
        "-    subflow: common/survey_offer   # the short form",
        "+    subflow: common/offer   # the short form",
        '-      flow: "common/survey_offer"',
        '+      flow: "common/offer"',
    ]
    assert subflow_paths(after, "common/survey_offer") == []
    assert retarget(CALLER, "nothing", "x") == CALLER


async def test_rename_rewrites_the_callers(client, bearer, settings):
    flows = Path(settings.flows_dir)
    caller = add_caller(settings)
    demo_before = (flows / "demo.yaml").read_text()
    versions = {n: await version_of(client, bearer, n) for n in ("demo", "otros/encuesta")}
    r = await rename_survey(client, bearer)
    assert r.status == 200, await r.text()
    answer = await r.json()
    assert answer["name"] == "common/offer"
    assert sorted(answer["callers"]) == ["demo", "otros/encuesta"]
    assert not (flows / "common" / "survey_offer.yaml").exists()
    assert "flow: common/offer" in (flows / "common" / "offer.yaml").read_text()
    demo_after = (flows / "demo.yaml").read_text()
    assert changed_lines(demo_before, demo_after) == [
        "-    subflow: {flow: common/survey_offer, vars: {channel_name: WhatsApp}}",
        "+    subflow: {flow: common/offer, vars: {channel_name: WhatsApp}}",
    ]
    assert len(changed_lines(CALLER, caller.read_text())) == 4
    for name, before in versions.items():
        # each caller: a new version, the one it replaced in its history
        assert answer["callers"][name] == await version_of(client, bearer, name) != before
        r = await client.get(f"/api/flows/{name}/history", headers=bearer)
        assert [h["version"] for h in (await r.json())["history"]] == [before]
    # everything loads and runs against the new name
    library = FlowLibrary.from_settings(settings)
    for name in ("demo", "otros/encuesta"):
        assert library.get(name).subflows() == ("common/offer",)
    r = await client.get("/api/flows", headers=bearer)
    listed = {f["name"]: f for f in (await r.json())["flows"]}
    assert sorted(listed["common/offer"]["called_by"]) == ["demo", "otros/encuesta"]


async def test_a_caller_that_cannot_be_written_undoes_the_rename(
    client, bearer, settings, monkeypatch
):
    flows = Path(settings.flows_dir)
    caller = add_caller(settings)
    before = {p: p.read_bytes() for p in flows.rglob("*.yaml")}
    real = tempfile.mkstemp

    def read_only_folder(*args, **kwargs):
        if Path(kwargs.get("dir", "")) == flows / "otros":
            raise OSError(errno.EROFS, "Read-only file system")
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", read_only_folder)
    r = await rename_survey(client, bearer)
    assert r.status == 503
    message = (await r.json())["error"]
    assert "nothing was renamed" in message and "otros/encuesta" in message
    assert "Read-only file system" in message
    assert {p: p.read_bytes() for p in flows.rglob("*.yaml")} == before
    assert caller.read_text() == CALLER


async def test_deleting_a_called_flow_needs_confirmation(client, bearer, settings):
    path = Path(settings.flows_dir) / "common" / "survey_offer.yaml"
    version = await version_of(client, bearer, "common/survey_offer")
    r = await client.delete(
        f"/api/flows/common/survey_offer?base_version={version}", headers=bearer
    )
    assert r.status == 409
    answer = await r.json()
    assert answer["callers"] == ["demo"] and "demo" in answer["error"]
    assert path.exists()
    r = await client.delete(
        f"/api/flows/common/survey_offer?base_version={version}&confirm=1", headers=bearer
    )
    assert r.status == 200
    assert (await r.json())["callers"] == ["demo"]
    assert not path.exists()


async def test_a_flow_nobody_calls_is_deleted_at_once(client, bearer):
    version = await version_of(client, bearer, "support")
    r = await client.delete(f"/api/flows/support?base_version={version}", headers=bearer)
    assert r.status == 200 and (await r.json())["callers"] == []
