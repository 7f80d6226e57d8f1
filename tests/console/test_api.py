"""The console's JSON API: flows, versions, conflicts, problems, history."""

from __future__ import annotations

import pytest


async def test_list_flows(client, bearer):
    r = await client.get("/api/flows", headers=bearer)
    assert r.status == 200
    flows = {f["name"]: f for f in (await r.json())["flows"]}
    assert {"soporte", "support", "demo", "common/survey_offer"} <= set(flows)
    assert flows["soporte"]["language"] == "es"
    assert flows["soporte"]["state"] in ("valid", "warnings")
    assert len(flows["soporte"]["version"]) == 12
    assert flows["soporte"]["calls_today"] == 0


async def test_get_put_and_version(client, bearer, settings):
    r = await client.get("/api/flows/soporte", headers=bearer)
    data = await r.json()
    assert r.status == 200 and data["yaml"].startswith("#")
    new = data["yaml"].replace("timeout: 5s", "timeout: 7s", 1)
    r = await client.put(
        "/api/flows/soporte", json={"yaml": new, "base_version": data["version"]}, headers=bearer
    )
    assert r.status == 200, await r.text()
    saved = await r.json()
    assert saved["version"] != data["version"]
    assert (settings.flows_dir / "soporte.yaml").read_text() == new
    # the version it replaced is in the history, and restores
    r = await client.get("/api/flows/soporte/history", headers=bearer)
    history = (await r.json())["history"]
    assert [h["version"] for h in history] == [data["version"]]
    r = await client.post(
        "/api/flows/soporte/restore",
        json={"id": history[0]["id"], "base_version": saved["version"]},
        headers=bearer,
    )
    assert r.status == 200
    assert (settings.flows_dir / "soporte.yaml").read_text() == data["yaml"]


async def test_stale_save_is_a_conflict_with_both_texts(client, bearer, settings):
    data = await (await client.get("/api/flows/soporte", headers=bearer)).json()
    first = data["yaml"].replace("timeout: 5s", "timeout: 6s", 1)
    second = data["yaml"].replace("retries: 2", "retries: 3", 1)
    r1 = await client.put(
        "/api/flows/soporte", json={"yaml": first, "base_version": data["version"]}, headers=bearer
    )
    r2 = await client.put(
        "/api/flows/soporte", json={"yaml": second, "base_version": data["version"]}, headers=bearer
    )
    assert r1.status == 200 and r2.status == 409
    body = await r2.json()
    assert body["current"] == first and body["version"] == (await r1.json())["version"]
    assert (settings.flows_dir / "soporte.yaml").read_text() == first


async def test_invalid_text_is_422_at_its_line_and_nothing_is_written(client, bearer, settings):
    data = await (await client.get("/api/flows/soporte", headers=bearer)).json()
    bad = data["yaml"].replace("timeout: 5s", "timeout: soon", 1)
    r = await client.put(
        "/api/flows/soporte", json={"yaml": bad, "base_version": data["version"]}, headers=bearer
    )
    assert r.status == 422
    problems = (await r.json())["problems"]
    line = bad.splitlines().index("      timeout: soon") + 1
    assert any(
        p["line"] == line and p["field"] == "blocks.main_menu.menu.timeout" for p in problems
    ), problems
    assert (settings.flows_dir / "soporte.yaml").read_text() == data["yaml"]


async def test_edit_changes_one_line(client, bearer):
    data = await (await client.get("/api/flows/soporte", headers=bearer)).json()
    ops = [{"op": "set", "path": ["blocks", "sales", "transfer", "max_wait"], "value": "90s"}]
    r = await client.post(
        "/api/flows/soporte/edit", json={"yaml": data["yaml"], "ops": ops}, headers=bearer
    )
    body = await r.json()
    before, after = data["yaml"].splitlines(), body["yaml"].splitlines()
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b]
    assert r.status == 200 and len(changed) == 1
    assert "max_wait: 90s" in after[changed[0]]


async def test_create_duplicate_rename_delete(client, bearer, settings):
    r = await client.post(
        "/api/flows", json={"name": "nuevo", "template": "empty-es"}, headers=bearer
    )
    assert r.status == 201, await r.text()
    r = await client.post(
        "/api/flows", json={"name": "nuevo", "template": "empty-es"}, headers=bearer
    )
    assert r.status == 409
    r = await client.post(
        "/api/flows", json={"name": "copia", "copy_of": "soporte"}, headers=bearer
    )
    assert r.status == 201
    assert "flow: copia" in (settings.flows_dir / "copia.yaml").read_text()
    version = (await r.json())["version"]
    r = await client.post(
        "/api/flows/copia/rename",
        json={"new_name": "copia2", "base_version": version},
        headers=bearer,
    )
    assert r.status == 200, await r.text()
    assert not (settings.flows_dir / "copia.yaml").exists()
    new_version = (await r.json())["version"]
    r = await client.delete(f"/api/flows/copia2?base_version={new_version}", headers=bearer)
    assert r.status == 200
    assert not (settings.flows_dir / "copia2.yaml").exists()
    history = (await (await client.get("/api/flows/copia2/history", headers=bearer)).json())[
        "history"
    ]
    assert history and history[0]["deleted"]


@pytest.mark.parametrize("name", ["../etc/passwd", "a/../../b", "..", "x%2F..%2Fy"])
async def test_bad_flow_names(client, bearer, name):
    r = await client.post("/api/flows", json={"name": name, "template": "empty-es"}, headers=bearer)
    assert r.status == 400
    r = await client.get(f"/api/flows/{name}", headers=bearer)
    assert r.status in (400, 404)


async def test_picture_is_svg_with_block_titles(client, bearer):
    data = await (await client.get("/api/flows/soporte", headers=bearer)).json()
    r = await client.post("/api/flows/soporte/picture", json={"yaml": data["yaml"]}, headers=bearer)
    assert r.status == 200 and r.content_type == "image/svg+xml"
    svg = await r.text()
    assert svg.startswith("<svg") and "<title>main_menu</title>" in svg
