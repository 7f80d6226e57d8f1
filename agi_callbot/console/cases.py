"""A tried call kept as a case of ``<flow>.test.yaml`` (``agi-callbot test`` runs it).

The case holds what the tester did (caller, keys, transfer outcomes) and what came out
(status, blocks passed, what was said, the messages); the file keeps whatever the admin
wrote in it before (round trip).
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

from aiohttp import web

from agi_callbot.console.tryit import Tester, TryError, flow_for, run
from agi_callbot.errors import FlowError


def routes(console: Any) -> list[web.RouteDef]:
    return [web.post("/api/flows/{name:[A-Za-z0-9_/-]+}/cases", console.guard.api(save_case))]


async def save_case(request: web.Request) -> web.Response:
    """The tried call as a case of ``<flow>.test.yaml`` (``agi-callbot test`` runs it).

    A call that was waiting for the caller is saved as hanging up there, which is what
    the case then checks."""
    from agi_callbot.console.api import body, error, name_of

    data = await body(request)
    case_name = str(data.get("name", "")).strip()
    if not case_name or len(case_name) > 200 or "\n" in case_name:
        return error("give the case a name (one line)", 400)
    console, flow = await flow_for(request, {k: v for k, v in data.items() if k != "yaml"})
    if isinstance(flow, web.Response):
        return flow
    try:
        tester = Tester.from_request(data)
        result = await run(flow, console.store.library, console.settings, tester)
        if result["waiting"]:
            tester = dataclasses.replace(tester, keys=(*tester.keys, "hangup"))
            result = await run(flow, console.store.library, console.settings, tester)
    except (TryError, FlowError) as exc:
        return error(str(exc), 400)
    case = case_of(case_name, tester, result)
    name = name_of(request)
    path = console.store.flows_dir / f"{name}.test.yaml"
    try:
        await asyncio.to_thread(append_case, path, name, case)
    except OSError as exc:
        return error(f"cannot write {path.name}: {exc.strerror or exc}", 503)
    return web.json_response({"file": path.name, "case": case})


def case_of(name: str, tester: Tester, result: dict[str, Any]) -> dict[str, Any]:
    case: dict[str, Any] = {
        "name": name,
        "caller": tester.caller,
        "caller_name": tester.caller_name,
    }
    teams, agents = tester.teams, tester.agents
    if tester.keys:
        case["dtmf"] = ",".join(tester.keys)
    queues = {t: o for t, o in teams.items() if o != "nobody"}
    if queues:
        case["queues"] = queues
    if teams:
        case["teams"] = {t: (-1 if o == "nobody" else 1) for t, o in teams.items()}
    if agents:
        case["dial"] = dict(agents)
    said = [e["text"] for e in result["events"] if e["event"] == "say"]
    case["expect"] = {
        "status": result["final_status"],
        "path": result["path"],
        "said": said,
        "messages": [
            {"channel": msg.get("channel"), "status": msg.get("status")}
            for msg in result["messages"]
        ],
    }
    return case


def append_case(path: Path, flow: str, case: dict[str, Any]) -> None:
    """Add ``case`` to the file, keeping what the admin wrote there (round trip)."""
    from agi_callbot.console.document import FlowDocument

    text = path.read_text(encoding="utf-8") if path.is_file() else f"flow: {flow}\ncases: []\n"
    document = FlowDocument(text)
    if not isinstance(document.get(["cases"]), list):
        document.set(["cases"], [])
    document.append(["cases"], case)
    content = document.text()
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(content, encoding="utf-8")
    tmp.replace(path)
