"""Flow test cases: ``<flow>.test.yaml`` next to a flow, run by ``agi-callbot test`` and pytest.

A case is a scripted call (the :class:`~agi_callbot.sim.simulate.Scenario`: caller,
digits with timing, queue/agent/AMI answers, time of day, hang-up point) and what
must come out of it::

    flow: soporte                      # default: the file's path without .test.yaml
    cases:
      - name: caller asks for the link and consents to the survey
        caller: "+34600111222"
        dtmf: "2,1"                      # keys typed together: "4321#"
        expect:
          status: COMPLETED
          path: [welcome, main_menu, send_link, survey_consent, consent_yes, goodbye]
          said: ["Le enviamos un SMS"]            # in this order, each a part of a prompt
          transfers: []
          messages:                                # every message, each field given must match
            - {channel: sms, to: "+34600111222", status: queued}
            - {channel: email}
            - {channel: whatsapp, status: queued}
          commands: ['EXEC Queue "ventas,m(ventas),,,120"']   # in this order, among all
          variables: {CALLBOT_STATUS: COMPLETED}

``path``, ``transfers`` and ``messages`` are complete lists; ``said`` and ``commands``
are in-order excerpts; ``visits`` lists blocks that must appear in the path.
A failing case prints a diff of the expected and actual values.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agi_callbot.config import Settings
from agi_callbot.errors import FlowError
from agi_callbot.flow.loader import FlowLibrary
from agi_callbot.router import pin
from agi_callbot.sim.simulate import Scenario, Transcript, simulate

SCENARIO_KEYS = {
    "caller": str,
    "caller_name": str,
    "dtmf": str,
    "queues": dict,
    "dial": dict,
    "teams": dict,
    "optins": list,
    "at": str,
    "hangup_at": int,
    "args": list,
    "query": str,
    "missing_sounds": list,
}
CASE_KEYS = {"name", "description", "expect", *SCENARIO_KEYS}
EXPECT_KEYS = {
    "status",
    "result",
    "path",
    "visits",
    "said",
    "transfers",
    "messages",
    "commands",
    "variables",
    "error",
}
SUFFIX = ".test.yaml"


@dataclass
class Case:
    file: Path
    flow: str
    name: str
    scenario: Scenario
    expect: dict[str, Any]


@dataclass
class CaseResult:
    case: Case
    failures: list[str] = field(default_factory=list)
    transcript: Transcript | None = None

    @property
    def passed(self) -> bool:
        return not self.failures


def find_case_files(paths: list[Path]) -> list[Path]:
    """Case files named, or every ``*.test.yaml`` under the folders named."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(path.rglob(f"*{SUFFIX}")))
        elif path.is_file():
            found.append(path)
        else:
            raise FlowError(f"no such file or folder: {path}")
    return found


class _CaseLoader(yaml.SafeLoader):
    """YAML, except that ``dtmf: 0123`` is the keys as typed, not the octal number 83."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        for key, value in node.value:
            if key.value == "dtmf" and value.tag == "tag:yaml.org,2002:int":
                value.tag = "tag:yaml.org,2002:str"
        return super().construct_mapping(node, deep)


def load_cases(path: Path) -> list[Case]:
    """Parse one case file; a mistake raises FlowError naming the file and the case."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_CaseLoader)
    except (OSError, yaml.YAMLError) as exc:
        raise FlowError(f"cannot read test cases: {exc}", file=str(path)) from exc
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise FlowError("a test file is a mapping with a 'cases' list", file=str(path))
    _check_keys(data, {"flow", "cases"}, path, "the file")
    flow = str(data.get("flow") or "")
    cases = []
    for number, raw in enumerate(data["cases"], start=1):
        where = f"case #{number}"
        if not isinstance(raw, dict):
            raise FlowError(f"{where}: expected a mapping", file=str(path))
        name = str(raw.get("name") or where)
        _check_keys(raw, CASE_KEYS, path, f"case {name!r}")
        expect = raw.get("expect") or {}
        if not isinstance(expect, dict):
            raise FlowError(f"case {name!r}: expect must be a mapping", file=str(path))
        _check_keys(expect, EXPECT_KEYS, path, f"case {name!r} expect")
        cases.append(Case(path, flow, name, _scenario(raw, path, name), expect))
    return cases


def _check_keys(data: Mapping[str, Any], allowed: set[str], path: Path, where: str) -> None:
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise FlowError(f"{where}: unknown key {key!r}{hint}", file=str(path))


def _scenario(raw: Mapping[str, Any], path: Path, name: str) -> Scenario:
    values: dict[str, Any] = {}
    for key, kind in SCENARIO_KEYS.items():
        if key not in raw:
            continue
        value = raw[key]
        if kind is str and isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise FlowError(
                f"case {name!r}: {key} must be {kind.__name__}, got {value!r}", file=str(path)
            )
        values[key] = value
    for key in ("optins", "args"):
        if key in values:
            values[key] = tuple(str(v) for v in values[key])
    if "missing_sounds" in values:
        values["missing_sounds"] = frozenset(str(v) for v in values["missing_sounds"])
    if "queues" in values:
        values["queues"] = {str(k): str(v) for k, v in values["queues"].items()}
    if "dial" in values:
        values["dial"] = {str(k): str(v) for k, v in values["dial"].items()}
    if "teams" in values:
        values["teams"] = {str(k): int(v) for k, v in values["teams"].items()}
    return Scenario(**values)


async def run_case(
    case: Case, settings: Settings, *, prompts_dir: Path | None = None
) -> CaseResult:
    library, name = case_flow(case, settings)
    result = CaseResult(case)
    try:
        flow, subflows = pin(library, name)
    except FlowError as exc:
        result.failures.append(f"flow {name!r} does not load: {exc}")
        return result
    transcript = await simulate(
        flow, case.scenario, settings, subflows=subflows, prompts_dir=prompts_dir
    )
    result.transcript = transcript
    result.failures = compare(case.expect, actual(transcript))
    return result


def case_flow(case: Case, settings: Settings) -> tuple[FlowLibrary, str]:
    """The library the case's flow is named in, and its name: the ``flow`` key, else the
    file's path (``<root>/common/survey.test.yaml`` tests ``common/survey``)."""
    root = _flows_root(case.file, settings)
    library = FlowLibrary(
        root, defaults=settings.defaults, max_steps=settings.flows.max_steps, settings=settings
    )
    name = case.flow or case.file.resolve().relative_to(root).as_posix().removesuffix(SUFFIX)
    return library, name


def _flows_root(case_file: Path, settings: Settings) -> Path:
    """The flows folder the case's flow (and its sub-flows) are named from."""
    folder = case_file.resolve().parent
    root = settings.flows_dir.resolve()
    return root if folder == root or root in folder.parents else folder


def actual(t: Transcript) -> dict[str, Any]:
    """The values expectations are checked against."""
    return {
        "status": t.status,
        "result": t.result.result,
        "path": t.result.path,
        "said": t.said,
        "transfers": t.result.record["transfers"],
        "messages": t.messages,
        "commands": t.commands,
        "variables": t.variables,
        "error": t.result.error,
    }


def compare(expect: Mapping[str, Any], got: Mapping[str, Any]) -> list[str]:
    """One failure text (with a diff) per expectation that does not hold."""
    failures = []
    for key, wanted in expect.items():
        if key == "visits":
            missing = [b for b in wanted if b not in got["path"]]
            ok = not missing
            shown = got["path"]
        elif key in ("said", "commands"):
            ok = _in_order(list(wanted), list(got[key]), partial=key == "said")
            shown = got[key]
        elif key in ("transfers", "messages"):
            ok = len(wanted) == len(got[key]) and all(
                _matches(w, g) for w, g in zip(wanted, got[key], strict=False)
            )
            shown = [_subset_view(w, g) for w, g in zip(wanted, got[key], strict=False)]
            shown += got[key][len(wanted) :]
        elif key == "variables":
            ok = all(str(got[key].get(k)) == str(v) for k, v in wanted.items())
            shown = {k: got[key].get(k) for k in wanted}
        elif key == "error":
            ok = str(wanted) in got[key] if wanted else not got[key]
            shown = got[key]
        else:
            ok = wanted == got[key]
            shown = got[key]
        if not ok:
            failures.append(f"{key}:\n{diff(wanted, shown)}")
    return failures


def _in_order(wanted: list[Any], got: list[str], *, partial: bool) -> bool:
    position = 0
    for item in wanted:
        while position < len(got) and not (
            str(item) in got[position] if partial else str(item) == got[position]
        ):
            position += 1
        if position == len(got):
            return False
        position += 1
    return True


def _matches(wanted: Any, got: Mapping[str, Any]) -> bool:
    if not isinstance(wanted, Mapping):
        return False
    return all(str(got.get(k)) == str(v) for k, v in wanted.items())


def _subset_view(wanted: Any, got: Mapping[str, Any]) -> Any:
    """The actual item cut down to the keys the expectation names (a readable diff)."""
    if isinstance(wanted, Mapping):
        return {k: got.get(k) for k in wanted}
    return got


def diff(wanted: Any, got: Any) -> str:
    def lines(value: Any) -> list[str]:
        return yaml.safe_dump(
            json.loads(json.dumps(value, default=str)), allow_unicode=True, sort_keys=False
        ).splitlines()

    return "\n".join(
        "    " + line
        for line in difflib.unified_diff(
            lines(wanted), lines(got), "expected", "actual", lineterm="", n=2
        )
    )
