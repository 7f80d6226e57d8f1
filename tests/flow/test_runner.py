"""The runner on small flows written for each rule: errors, bounds, returns, variables,
webhooks with answers, transfers with and without branches. Real in-memory Asterisk,
real prompt service, real outbox and records (conftest)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from aiohttp import web

from agi_callbot.flow.loader import FlowLibrary
from agi_callbot.gateways.webhook import SIGNATURE_HEADER, verify
from agi_callbot.router import pin
from agi_callbot.sim.simulate import SimulationServices

HEAD = "language: en\nvoice: {engine: espeak-ng, voice: en}\n"


@pytest.fixture
def flows(tmp_path, write_flow, settings_for):
    folder = tmp_path / "flows"

    def load(name: str, body: str):
        write_flow(folder, name, f"flow: {name}\n{HEAD}{body}")
        return pin(FlowLibrary(folder), name)

    return load


async def test_unset_variable_takes_the_error_branch(flows, settings, services, place_call):
    flow, subs = flows(
        "err",
        """on_error: sorry
blocks:
  hello: {say: "Your order ${order_id} is ready.", next: bye}
  bye: {hangup: {message: "Bye."}}
  sorry: {hangup: {message: "Sorry, something went wrong."}}
""",
    )
    ast, result = await place_call(services, settings, flow, subs)
    assert result.path == ["hello", "sorry"]
    assert result.status == "COMPLETED"
    assert "order_id" in result.error
    assert ast.commands[-1] == "HANGUP"
    assert result.record["error"] == result.error


async def test_without_error_branch_the_call_returns_failed(flows, settings, services, place_call):
    flow, subs = flows("err2", 'blocks:\n  hello: {say: "Order ${order_id}."}\n')
    ast, result = await place_call(services, settings, flow, subs)
    assert result.status == "FAILED"
    assert ast.variables["CALLBOT_STATUS"] == "FAILED"
    assert "HANGUP" not in ast.commands  # the dialplan fails over
    assert ast.hangup_by is None


async def test_a_bug_is_logged_as_one_and_skips_the_error_branch(
    flows, settings, services, place_call, monkeypatch, caplog
):
    """Only a flow's own surprises (FlowRuntimeError, a refused prompt or command) take
    on_error; an exception that is not a CallbotError is a bug in agi-callbot."""
    flow, subs = flows(
        "bug",
        'on_error: sorry\nblocks:\n  hello: {say: "Hello."}\n  sorry: {say: "Sorry."}\n',
    )

    async def broken(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr(services.prompts, "resolve", broken)
    monkeypatch.setattr(services.prompts, "resolve_measured", broken)
    ast, result = await place_call(services, settings, flow, subs)
    assert result.status == "FAILED" and result.path == ["hello"]
    assert result.error.startswith("bug in agi-callbot: KeyError")
    assert "bug in agi-callbot at block hello" in caplog.text
    assert "Traceback" in caplog.text
    assert ast.variables["CALLBOT_STATUS"] == "FAILED"


async def test_a_loop_is_bounded_by_max_steps(flows, settings, services, place_call):
    flow, subs = flows(
        "loop",
        "max_steps: 25\nblocks:\n  a: {goto: b}\n  b: {goto: a}\n",
    )
    ast, result = await place_call(services, settings, flow, subs)
    assert result.status == "FAILED" and result.result == "max_steps"
    assert len(result.path) == 25
    assert ast.variables["CALLBOT_RESULT"] == "max_steps"


async def test_return_hands_the_call_back_without_hanging_up(flows, settings, services, place_call):
    flow, subs = flows("ret", "blocks:\n  out: {return: {result: voicemail}}\n")
    ast, result = await place_call(services, settings, flow, subs)
    assert ast.commands == [
        'SET VARIABLE "CALLBOT_STATUS" "FAILED"',
        "ANSWER",
        'SET VARIABLE "CALLBOT_STATUS" "COMPLETED"',
        'SET VARIABLE "CALLBOT_RESULT" "voicemail"',
    ]
    assert result.status == "COMPLETED" and not ast.hung_up


async def test_running_out_of_blocks_hangs_up_completed(flows, settings, services, place_call):
    flow, subs = flows("end", 'blocks:\n  hi: {say: "Hi."}\n')
    ast, result = await place_call(services, settings, flow, subs)
    assert result.status == "COMPLETED" and ast.hangup_by == "bot"


async def test_variables_from_the_call(flows, settings, services, place_call):
    flow, subs = flows(
        "vars",
        """variables: {campaign: none, zone: north, tries: 0}
blocks:
  hi:
    say: {en: "Hello ${caller_name}", es: "Hola ${caller_name}"}
    actions:
      - set: {seen: "${arg1}-${campaign}-${zone}-${dnid}-${language}-${caller}"}
      - set: {tries: {expr: "tries + 1"}}
""",
    )
    ast, result = await place_call(
        services,
        settings,
        flow,
        subs,
        script="vars?language=es&campaign=spring&caller=+1999",
        args=("a1",),
        calleridname="Ana\tMaría",
        callerid="600111222",
        dnid="900100200",
    )
    assert ast.commands[2] == 'SET VARIABLE "CHANNEL(language)" "es"'
    assert ast.language == "es"
    sets = [e["value"] for e in result.events if e["event"] == "set"]
    assert sets == ["a1-spring-north-900100200-es-+34600111222", 1]
    said = [e["text"] for e in result.events if e["event"] == "say"]
    assert said == ["Hola Ana María"]


async def test_collect_and_branch_on_the_digits(flows, settings, services, place_call):
    flow, subs = flows(
        "pin",
        """blocks:
  ask:
    collect: {prompt: "Your PIN.", var: pin, min_digits: 4, max_digits: 4, pattern: "[0-9]+",
              invalid: "Four digits.", on_fail: bye}
    next: check
  check:
    branch:
      - {if: 'pin == "1234"', goto: ok}
      - {else: bye}
  ok: {hangup: {message: "Correct.", result: "pin-ok"}}
  bye: {hangup: {message: "Bye."}}
""",
    )
    _ast, result = await place_call(services, settings, flow, subs, caller="1,2,#,wait:2,1,2,3,4")
    assert result.path == ["ask", "check", "ok"]
    assert result.result == "pin-ok"
    assert result.record["digits"] == [{"block": "ask", "var": "pin", "digits": "1234"}]
    assert [e["valid"] for e in result.events if e["event"] == "digits"] == [False, True]


async def test_menu_multi_digit_repeat_and_inline_actions(flows, settings, services, place_call):
    flow, subs = flows(
        "menu2",
        """blocks:
  m:
    menu:
      prompt: "Extension, or star to repeat."
      options:
        "11": eleven
        "12": twelve
        "9": {actions: [{email: {to: ops@acme.example, subject: "hi", body: "x"}}]}
      repeat: "*"
      on_fail: bye
  eleven: {hangup: {message: "Eleven."}}
  twelve: {hangup: {message: "Twelve."}}
  bye: {hangup: {message: "Bye."}}
""",
    )
    _ast, result = await place_call(services, settings, flow, subs, caller="*,9,1,2")
    assert result.path == ["m", "twelve"]
    outcomes = [(e["entered"], e["outcome"]) for e in result.events if e["event"] == "menu"]
    assert outcomes == [("*", "repeat"), ("9", "option"), ("12", "option")]
    assert [m["channel"] for m in result.record["messages"]] == ["email"]
    assert result.record["messages"][0]["key"].endswith("/m.9/0")


async def test_menu_without_on_fail_is_a_runtime_error(flows, settings, services, place_call):
    flow, subs = flows(
        "menu3",
        "on_error: human\nblocks:\n"
        '  m: {menu: {prompt: "Press 1.", options: {"1": human}, retries: 0}}\n'
        "  human: {return: {result: human}}\n",
    )
    _ast, result = await place_call(services, settings, flow, subs)
    assert result.path == ["m", "human"]
    assert "no valid choice" in result.error


async def test_no_agent_returns_to_the_dialplan(flows, settings, services, place_call):
    flow, subs = flows("q", "blocks:\n  t: {transfer: {team: ventas, max_wait: 30s}}\n")
    ast, result = await place_call(services, settings, flow, subs, queues={"ventas": "timeout"})
    assert result.status == "NO_AGENT" and result.result == "ventas:TIMEOUT"
    assert ast.hangup_by is None
    assert 'EXEC Queue "ventas,,,,30"' in ast.commands


async def test_queue_without_options_has_no_trailing_comma(flows, settings, services, place_call):
    flow, subs = flows("q0", "blocks:\n  t: {transfer: {team: ventas}}\n")
    ast, result = await place_call(services, settings, flow, subs, queues={"ventas": "answer"})
    assert 'EXEC Queue "ventas"' in ast.commands
    assert result.status == "TRANSFERRED" and ast.hangup_by == "bot"


async def test_answered_queue_with_next_continues_and_counts_as_transferred(
    flows, settings, services, place_call
):
    flow, subs = flows(
        "qc",
        """blocks:
  t: {transfer: {team: ventas, music: promo, on_no_answer: bye}, next: after}
  after: {say: "Thanks for talking to us."}
  bye: {hangup: {message: "Bye."}}
""",
    )
    ast, result = await place_call(services, settings, flow, subs, queues={"ventas": "continue"})
    assert 'EXEC Queue "ventas,cm(promo)"' in ast.commands
    assert ast.moh == ["promo"]
    assert result.path == ["t", "after"]
    assert result.status == "TRANSFERRED"


async def test_agent_with_next_dials_with_g(flows, settings, services, place_call):
    flow, subs = flows(
        "ag",
        """blocks:
  t: {transfer: {agent: PJSIP/1001, ring: 15s, on_no_answer: bye}, next: after}
  after: {say: "Anything else?"}
  bye: {hangup: {message: "Bye."}}
""",
    )
    ast, result = await place_call(
        services, settings, flow, subs, dial={"PJSIP/1001": "ANSWER"}, talk_seconds=2
    )
    assert 'EXEC Dial "PJSIP/1001,15,g"' in ast.commands
    assert result.path == ["t", "after"] and result.status == "TRANSFERRED"


async def test_caller_hangs_up_while_talking_to_the_agent(flows, settings, services, place_call):
    flow, subs = flows("ag2", "blocks:\n  t: {transfer: {agent: PJSIP/1001, on_no_answer: t}}\n")
    ast, result = await place_call(
        services, settings, flow, subs, dial={"PJSIP/1001": "ANSWER"}, caller="wait:4,hangup"
    )
    assert result.status == "TRANSFERRED"
    assert ast.variables["CALLBOT_STATUS"] == "TRANSFERRED"
    assert ast.hangup_by == "caller"


async def test_caller_hangs_up_while_the_agent_rings(flows, settings, services, place_call):
    flow, subs = flows("ag3", "blocks:\n  t: {transfer: {agent: PJSIP/1001, on_no_answer: t}}\n")
    _ast, result = await place_call(
        services, settings, flow, subs, dial={"PJSIP/1001": "NOANSWER"}, caller="wait:1,hangup"
    )
    assert result.status == "HANGUP"
    assert result.record["transfers"] == [
        {"block": "t", "target": "PJSIP/1001", "outcome": "HANGUP"}
    ]


async def test_missing_sound_file_does_not_stop_the_call(flows, settings, services, place_call):
    flow, subs = flows("snd", "blocks:\n  a: {play: custom/nothere, next: b}\n  b: {say: Hi}\n")
    _ast, result = await place_call(
        services, settings, flow, subs, missing_sounds={"custom/nothere"}
    )
    assert result.path == ["a", "b"] and result.status == "COMPLETED"


@pytest.fixture
async def crm():
    """A real HTTP server on loopback answering the flow's webhook."""
    seen: list[dict] = []
    raw: list[tuple[bytes, dict[str, str]]] = []

    async def lookup(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append(body)
        raw.append((await request.read(), dict(request.headers)))
        if body.get("account") == "0000":
            return web.json_response({"error": "boom"}, status=500)
        return web.json_response({"status": "vip", "name": "Ana"})

    app = web.Application()
    app.router.add_post("/lookup", lookup)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", seen, raw
    await runner.cleanup()


WEBHOOK_FLOW = """on_error: sorry
blocks:
  ask: {{collect: {{prompt: "Account?", var: account, min_digits: 4, max_digits: 4}}, next: look}}
  look:
    actions:
      - webhook: {{url: "{url}/lookup", body: {{account: "${{account}}"}}, save_as: crm,
                   timeout: 2s}}
    next: check
  check:
    branch:
      - {{if: 'crm.status == "vip"', goto: vip}}
      - {{else: bye}}
  vip: {{hangup: {{message: "Hello ${{crm.name}}."}}}}
  bye: {{hangup: {{message: "Bye."}}}}
  sorry: {{hangup: {{message: "Sorry."}}}}
"""


async def test_webhook_answer_drives_the_flow(crm, flows, settings, services, place_call):
    url, seen, _ = crm
    flow, subs = flows("hook", WEBHOOK_FLOW.format(url=url))
    _ast, result = await place_call(services, settings, flow, subs, caller="4,2,4,2")
    assert seen == [{"account": "4242"}]
    assert result.path == ["ask", "look", "check", "vip"]
    assert [e["text"] for e in result.events if e["event"] == "say"][-1] == "Hello Ana."
    assert result.record["messages"] == []  # answered in the call, not queued


async def test_webhook_in_the_call_goes_through_the_webhook_gateway(
    crm, flows, settings, prompts_cache, place_call, monkeypatch
):
    """Signed with the settings' secret, with the settings' headers and the action's
    idempotency key, like a webhook message: one code path for both."""
    url, _, raw = crm
    monkeypatch.setenv("HOOK_SECRET", "s3cret")
    config = dataclasses.replace(
        settings,
        gateways={"webhook": {"secret_env": "HOOK_SECRET", "headers": {"X-Tenant": "acme"}}},
    )
    services = SimulationServices(config, prompts_dir=prompts_cache, work_dir=config.data_dir)
    await services.open()
    try:
        flow, subs = flows("hook3", WEBHOOK_FLOW.format(url=url))
        _ast, result = await place_call(services, config, flow, subs, caller="4,2,4,2")
    finally:
        await services.aclose()
    assert result.path[-1] == "vip"
    body, headers = raw[0]
    assert verify("s3cret", body, headers[SIGNATURE_HEADER])
    assert headers["X-Tenant"] == "acme"
    assert headers["Idempotency-Key"].endswith("/look/0")
    assert headers["X-Callbot-Block"] == "look" and headers["X-Callbot-Flow"] == "hook3"


async def test_failed_webhook_leaves_the_variable_unset(crm, flows, settings, services, place_call):
    url, _, _ = crm
    flow, subs = flows("hook2", WEBHOOK_FLOW.format(url=url))
    _ast, result = await place_call(services, settings, flow, subs, caller="0,0,0,0")
    assert result.path == ["ask", "look", "check", "sorry"]
    assert "crm" in result.error


async def test_concurrent_calls_keep_their_own_state(flows, settings, services, place_call):
    flow, subs = flows(
        "par",
        """blocks:
  m: {menu: {prompt: "One or two.", options: {"1": one, "2": two}, on_fail: two}}
  one: {hangup: {message: "One."}}
  two: {hangup: {message: "Two."}}
""",
    )
    await place_call(services, settings, flow, subs)  # render the prompts once
    results = await asyncio.gather(
        *(place_call(services, settings, flow, subs, caller=str(1 + n % 2)) for n in range(20))
    )
    for n, (_, result) in enumerate(results):
        assert result.path == ["m", "one" if n % 2 == 0 else "two"]


async def test_an_outbox_that_fails_costs_the_message_not_the_call(
    flows, settings, services, place_call
):
    flow, subs = flows(
        "sms",
        """blocks:
  a:
    actions: [{sms: {text: "hi"}}, {optin: {channel: whatsapp}}]
    say: "Sent."
""",
    )
    await services.outbox_service.aclose()  # the store is closed: every enqueue fails
    _ast, result = await place_call(services, settings, flow, subs)
    assert result.status == "COMPLETED" and result.path == ["a"]
    assert result.record["messages"] == []
    failed = [e for e in result.events if e["event"] == "action_failed"]
    assert [e["kind"] for e in failed] == ["sms"]
    optin = next(e for e in result.events if e["event"] == "optin")
    assert optin["recorded"] is False
    assert [e["text"] for e in result.events if e["event"] == "say"] == ["Sent."]


@pytest.mark.parametrize("world", [{"exit_on_hangup": True}, {"agisighup": False}])
async def test_hangup_with_other_agi_settings_still_finishes(
    world, flows, settings, services, place_call
):
    """AGIEXITONHANGUP closes the socket after the notice (22); AGISIGHUP=no sends none
    (21): the call still ends as HANGUP, post-call work runs and the record is written."""
    flow, subs = flows(
        "h",
        'blocks:\n  a: {say: "One.", next: b}\n  b: {say: "Two."}\n'
        'on_hangup: [{email: {to: ops@acme.example, subject: "s", body: "b"}}]\n',
    )
    _ast, result = await place_call(services, settings, flow, subs, hangup_at_command=3, **world)
    assert result.status == "HANGUP" and not result.error
    assert [m["channel"] for m in result.record["messages"]] == ["email"]
    assert (await services.records.last(1))[0]["status"] == "HANGUP"


async def test_sub_flows_nested_too_deep_are_stopped(
    tmp_path, write_flow, settings, services, place_call
):
    folder = tmp_path / "deep"
    for n in range(1, 11):
        write_flow(
            folder, f"s{n}", f"flow: s{n}\nlanguage: en\nblocks:\n  in: {{subflow: s{n + 1}}}\n"
        )
    write_flow(folder, "s11", "flow: s11\nlanguage: en\nblocks:\n  end: {say: Deep.}\n")
    write_flow(
        folder,
        "top",
        "flow: top\nlanguage: en\non_error: out\nblocks:\n  go: {subflow: s1, next: out}\n"
        "  out: {return: {result: stopped}}\n",
    )
    flow, subs = pin(FlowLibrary(folder, settings=settings), "top")
    _, result = await place_call(services, settings, flow, subs)
    assert result.result == "stopped"
    assert "sub-flows deep" in result.error
    assert result.path[-2:] == ["s8:in", "out"]
