"""A tried call kept as a case of ``<flow>.test.yaml`` (``agi-callbot test`` runs it).

The case holds what the tester did (caller, keys, transfer outcomes) and what came out
(status, blocks passed, what was said, the messages); the file keeps whatever the admin
wrote in it before (round trip).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from aiohttp import web

from agi_callbot.console.state import FLOW_API
from agi_callbot.console.store import Invalid, StoreError
from agi_callbot.console.tryit import TRY_TIMEOUT_S, WORKER_MARGIN_S, Tester, TryError, run
from agi_callbot.errors import FlowError


def routes(console: Any) -> list[web.RouteDef]:
    return [web.post(f"{FLOW_API}/cases", console.guard.api(save_case))]


async def save_case(request: web.Request) -> web.Response:
    """The tried call as a case of ``<flow>.test.yaml`` (``agi-callbot test`` runs it).

    A call that was waiting for the caller is saved as hanging up there, which is what
    the case then checks. The runs and the file's round trip happen in the console's
    worker process (:func:`agi_callbot.console.work.save_case`)."""
    from agi_callbot.console.api import body, error, name_of
    from agi_callbot.console.state import CONSOLE

    console = request.app[CONSOLE]
    name = name_of(request)
    data = await body(request)
    case_name = str(data.get("name", "")).strip()
    if not case_name or len(case_name) > 200 or "\n" in case_name:
        return error("give the case a name (one line)", 400)
    data = {k: v for k, v in data.items() if k != "yaml"}
    try:
        saved = await console.work(
            "save_case", name, data, case_name, timeout=2 * TRY_TIMEOUT_S + WORKER_MARGIN_S
        )
    except Invalid as exc:
        return error("the flow has errors: fix them to try it", 422, problems=exc.problems)
    except (TryError, FlowError) as exc:
        return error(str(exc), 400)
    except StoreError as exc:
        return error(str(exc), exc.status)
    return web.json_response(saved)


async def tried_case(
    flow: Any, library: Any, settings: Any, data: dict[str, Any], case_name: str
) -> dict[str, Any]:
    """Try the call as the tester did (to its end: a waiting call hangs up) → the case."""
    tester = Tester.from_request(data)
    result = await run(flow, library, settings, tester)
    if result["waiting"]:
        tester = dataclasses.replace(tester, keys=(*tester.keys, "hangup"))
        result = await run(flow, library, settings, tester)
    return case_of(case_name, tester, result)


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
