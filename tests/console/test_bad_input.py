"""Bad input: each gets a clear message, nothing is lost, the server goes on."""

from __future__ import annotations

import errno
import tempfile

from tests.console.conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def current(client, name="soporte"):
    return await (await client.get(f"/api/flows/{name}", headers=AUTH)).json()


async def test_a_5_mb_paste_is_refused_and_the_server_goes_on(client, settings):
    data = await current(client)
    huge = data["yaml"] + "# " + "x" * (5 * 1024 * 1024) + "\n"
    r = await client.put(
        "/api/flows/soporte", json={"yaml": huge, "base_version": data["version"]}, headers=AUTH
    )
    assert r.status == 413
    r = await client.post("/api/flows/soporte/check", json={"yaml": huge}, headers=AUTH)
    assert r.status == 413
    assert (settings.flows_dir / "soporte.yaml").read_text() == data["yaml"]
    assert (await client.get("/api/flows", headers=AUTH)).status == 200


async def test_just_over_the_flow_limit_is_a_clear_problem(client, settings):
    data = await current(client)
    big = data["yaml"] + "# " + "x" * settings.console.max_flow_bytes + "\n"
    r = await client.post(
        "/api/flows/soporte/check", json={"yaml": big[: 2 * 1024 * 1024]}, headers=AUTH
    )
    assert r.status == 413 or "limit" in (await r.json())["problems"][0]["message"]


async def test_alias_bomb_is_refused_with_a_message(client, settings):
    bomb = "flow: soporte\nvariables:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefghij":
        previous = chr(ord(level) - 1)
        items = ", ".join([f"*{previous}"] * 10)
        bomb += f"  {level}: &{level} [{items}]\n"
    bomb += "blocks:\n  hello: {say: *j}\n"
    data = await current(client)
    r = await client.put(
        "/api/flows/soporte", json={"yaml": bomb, "base_version": data["version"]}, headers=AUTH
    )
    assert r.status == 422
    assert (await r.json())["problems"]
    assert (settings.flows_dir / "soporte.yaml").read_text() == data["yaml"]
    r = await client.post("/api/flows/soporte/edit", json={"yaml": bomb, "ops": []}, headers=AUTH)
    assert r.status in (200, 400)
    assert (await client.get("/api/flows", headers=AUTH)).status == 200


async def test_renaming_a_block_to_an_existing_name(client):
    data = await current(client)
    ops = [{"op": "rename_block", "name": "sales", "new_name": "support"}]
    r = await client.post(
        "/api/flows/soporte/edit", json={"yaml": data["yaml"], "ops": ops}, headers=AUTH
    )
    assert r.status == 400
    assert "already exists" in (await r.json())["error"]


async def test_bad_json_and_bad_edits(client):
    r = await client.put(
        "/api/flows/soporte", data=b"{nope", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert r.status == 400 and "JSON" in (await r.json())["error"]
    data = await current(client)
    for ops in (
        [{"op": "explode"}],
        [{"op": "set"}],
        "x",
        [{"op": "delete", "path": ["blocks", "nope", "x"]}],
    ):
        r = await client.post(
            "/api/flows/soporte/edit", json={"yaml": data["yaml"], "ops": ops}, headers=AUTH
        )
        assert r.status == 400, ops


async def test_read_only_flows_folder_loses_nothing(client, settings, monkeypatch):
    """As root a chmod does not stop writes: the OS's answer for a read-only mount
    (EROFS) is given by the file-creation call the store uses."""
    data = await current(client)
    new = data["yaml"].replace("retries: 2", "retries: 3", 1)

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    r = await client.put(
        "/api/flows/soporte", json={"yaml": new, "base_version": data["version"]}, headers=AUTH
    )
    assert r.status == 503
    assert "Read-only file system" in (await r.json())["error"]
    assert (settings.flows_dir / "soporte.yaml").read_text() == data["yaml"]
    monkeypatch.undo()
    r = await client.put(
        "/api/flows/soporte", json={"yaml": new, "base_version": data["version"]}, headers=AUTH
    )
    assert r.status == 200
