"""Issue 14.2: a call's values are encoded for the place they land in.

Found: a SIP display name ``../../admin?drop=1#`` in ``url: …/lookup/${caller_name}``
sent the request to ``/admin?drop=1``; a webhook answer used as ``play: ${info}`` reached
``STREAM FILE "../../../../etc/asterisk/manager"``.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

import pytest
from loopback_provider import recorder

from agi_callbot.config import load_settings
from agi_callbot.flow.escaping import UnsafeValue, fill_url, sound_name
from agi_callbot.flow.loader import FlowLibrary
from agi_callbot.router import pin
from agi_callbot.sim.simulate import Scenario, simulate

EVIL = "../../admin?drop=1#"
HEAD = "language: en\nvoice: {engine: espeak-ng, voice: en}\n"


async def run(tmp_path, body: str, **scenario):
    folder = tmp_path / "flows"
    folder.mkdir(exist_ok=True)
    (folder / "t.yaml").write_text(f"flow: t\n{HEAD}{body}", encoding="utf-8")
    settings = load_settings(
        None,
        overrides={"data_dir": str(tmp_path / "var"), "flows_dir": str(folder)},
        environ={},
    )
    flow, subflows = pin(FlowLibrary(folder, settings=settings), "t")
    return await simulate(
        flow, Scenario(**scenario), settings, subflows=subflows, prompts_dir=tmp_path / "p"
    )


def test_each_value_is_encoded_for_its_url_part() -> None:
    v = {"name": EVIL, "id": "a b&c=d+e/f", "dots": ".."}
    assert fill_url("https://h.example/lookup/${name}", v) == (
        "https://h.example/lookup/..%2F..%2Fadmin%3Fdrop%3D1%23"
    )
    url = fill_url("https://h.example/q?n=${name}&id=${id}#${id}", v)
    query = url.split("?", 1)[1].split("#", 1)[0]
    assert parse_qsl(query) == [("n", EVIL), ("id", "a b&c=d+e/f")]
    assert url.endswith("#a%20b%26c%3Dd%2Be%2Ff")
    # a value that is a whole dot segment would be resolved away by the client
    assert fill_url("https://h.example/a/${dots}/b", v) == "https://h.example/a/%2E%2E/b"
    # the host is the flow's: a value there may only be a host name
    assert fill_url("https://${h}.example/x", {"h": "crm-2"}) == "https://crm-2.example/x"
    with pytest.raises(UnsafeValue, match="host"):
        fill_url("https://${h}/x", {"h": "evil.example/@"})


async def test_in_call_webhook_path_stays_on_its_route(tmp_path) -> None:
    async with recorder() as rec:
        rec.answer = {"status": "ok"}
        body = f"""blocks:
  look:
    actions:
      - webhook: {{url: "{rec.url}/lookup/${{caller_name}}?who=${{caller_name}}",
                   method: GET, save_as: crm, timeout: 2s}}
    next: bye
  bye: {{hangup: {{message: "Bye."}}}}
"""
        transcript = await run(tmp_path, body, caller_name=EVIL)
    assert transcript.status == "COMPLETED", transcript.result.error
    (seen,) = rec.seen
    path, query = seen.raw_path.split("?", 1)
    assert path == "/lookup/..%2F..%2Fadmin%3Fdrop%3D1%23"
    assert parse_qsl(query) == [("who", EVIL)]


async def test_queued_webhook_url_is_encoded_too(tmp_path) -> None:
    body = """blocks:
  tell:
    actions:
      - webhook: {url: "https://crm.example/calls/${caller_name}", body: {a: 1}}
    next: bye
  bye: {hangup: {message: "Bye."}}
"""
    transcript = await run(tmp_path, body, caller_name=EVIL)
    (message,) = transcript.messages
    assert message["to"] == "https://crm.example/calls/..%2F..%2Fadmin%3Fdrop%3D1%23"


def test_sound_names_from_values_stay_inside_the_sounds_tree() -> None:
    assert sound_name("${info}", {"info": "custom/welcome"}) == "custom/welcome"
    assert sound_name("/var/lib/x/${n}", {"n": "hello"}) == "/var/lib/x/hello"
    assert sound_name("/abs/literal", {}) == "/abs/literal"  # the flow's own text
    for bad in ("../../../../etc/asterisk/manager", "/etc/passwd", "a/../../b", "a b", "a\tb"):
        with pytest.raises(UnsafeValue, match="sound name"):
            sound_name("${info}", {"info": bad})
    with pytest.raises(UnsafeValue):
        sound_name("custom/${n}", {"n": "../../x"})


async def test_play_from_a_webhook_answer_takes_the_error_branch(tmp_path, caplog) -> None:
    caplog.set_level(logging.INFO)
    body = """on_error: sorry
blocks:
  first: {set: {info: "../../../../etc/asterisk/manager"}, next: speak}
  speak: {play: "${info}", next: bye}
  bye: {hangup: {message: "Bye."}}
  sorry: {hangup: {message: "Sorry."}}
"""
    transcript = await run(tmp_path, body)
    assert not any("etc/asterisk" in c for c in transcript.commands), transcript.commands
    assert transcript.result.path == ["first", "speak", "sorry"]
    assert "sound name" in transcript.result.error
    line = next(r.getMessage() for r in caplog.records if "sound name" in r.getMessage())
    assert "\n" not in line and "speak" in line


async def test_header_values_from_the_call_cannot_break_lines(tmp_path) -> None:
    async with recorder() as rec:
        rec.answer = {"name": "ok\r\nX-Admin: 1"}
        body = f"""on_error: sorry
blocks:
  ask:
    actions:
      - webhook: {{url: "{rec.url}/who", method: GET, save_as: crm, timeout: 2s}}
    next: look
  look:
    actions:
      - webhook: {{url: "{rec.url}/x", headers: {{X-Name: "${{crm.name}}"}},
                   save_as: crm2, timeout: 2s}}
    next: bye
  bye: {{hangup: {{message: "Bye."}}}}
  sorry: {{hangup: {{message: "Sorry."}}}}
"""
        transcript = await run(tmp_path, body)
    assert [s.raw_path for s in rec.seen] == ["/who"]
    assert transcript.result.path == ["ask", "look", "sorry"]
    assert "header" in transcript.result.error
