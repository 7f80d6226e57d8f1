"""Issue 14.8: a caller number that is not a valid phone number is not "anonymous".

Found: ``+15550100`` (too short) was reported as "anonymous caller". A withheld number
and a broken one call for different fixes (the caller's privacy vs. a carrier or trunk
sending garbage), so the outbox, the call record and ``calls`` say which it was; the
invalid number is shown masked.
"""

from __future__ import annotations

import pytest

from agi_callbot.cli.calls import format_record
from agi_callbot.config import load_settings
from agi_callbot.flow.loader import FlowLibrary
from agi_callbot.phone import mask_number, why_not
from agi_callbot.router import pin
from agi_callbot.sim.simulate import Scenario, simulate

FLOW = """flow: t
language: en
region: US
blocks:
  hi:
    actions:
      - sms: {to: "${caller}", text: "Thanks for calling."}
      - optin: {channel: whatsapp}
    hangup: {message: "Bye."}
"""


async def call_from(tmp_path, caller: str):
    folder = tmp_path / "flows"
    folder.mkdir(exist_ok=True)
    (folder / "t.yaml").write_text(FLOW)
    settings = load_settings(
        None, overrides={"data_dir": str(tmp_path / "var"), "flows_dir": str(folder)}, environ={}
    )
    flow, subflows = pin(FlowLibrary(folder, settings=settings), "t")
    return await simulate(
        flow, Scenario(caller=caller), settings, subflows=subflows, prompts_dir=tmp_path / "p"
    )


def test_reasons_are_distinct() -> None:
    assert why_not("+15550100", "US") == "not a valid phone number"
    assert why_not("anonymous", "US") == "anonymous caller"
    assert why_not("Restricted", "US") == "anonymous caller"


async def test_an_invalid_caller_number_is_reported_as_such(tmp_path) -> None:
    transcript = await call_from(tmp_path, "+15550100")
    (sms,) = transcript.messages
    assert (sms["status"], sms["reason"]) == ("skipped", "not a valid phone number")
    record = transcript.result.record
    assert record["caller_problem"] == f"not a valid phone number ({mask_number('+15550100')})"
    assert "+15550100" not in record["caller_problem"]
    assert "+15550100" not in format_record(record)
    assert "not a valid phone number" in format_record(record)
    optin = next(e for e in transcript.result.events if e["event"] == "optin")
    assert optin["reason"] == "not a valid phone number"


@pytest.mark.parametrize("caller", ["anonymous", ""])
async def test_a_withheld_number_stays_anonymous(tmp_path, caller) -> None:
    transcript = await call_from(tmp_path, caller)
    (sms,) = transcript.messages
    assert sms["reason"] == "anonymous caller"
    assert "not a valid" not in format_record(transcript.result.record)
