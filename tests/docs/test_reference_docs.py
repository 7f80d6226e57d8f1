"""The reference docs cannot drift from the code.

docs/flows.md must have a section per block kind and action kind with a row per key
the parser accepts (and the model's defaults), and examples that load; docs/settings.md
must embed the tables ``agi-callbot settings --markdown`` prints now, with a meaning for
every setting; docs/tests.md must name every key of the test-case format. Each failure
says what is missing and where to add it.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest
import yaml

from agi_callbot import reference
from agi_callbot.config import Settings, load_settings
from agi_callbot.errors import FlowError
from agi_callbot.flow import model as m
from agi_callbot.flow.lint import lint
from agi_callbot.flow.loader import FlowLibrary
from agi_callbot.flow.parse import ACTION_FIELDS, BLOCK_FIELDS, BLOCK_KEYS, TOP_KEYS
from agi_callbot.sim.cases import CASE_KEYS, EXPECT_KEYS, SCENARIO_KEYS

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
FLOWS_MD = DOCS / "flows.md"
SETTINGS_MD = DOCS / "settings.md"
TESTS_MD = DOCS / "tests.md"
EXAMPLES = ROOT / "examples"

#: YAML keys whose model field has another name
FIELD_NAMES = {"from": "sender"}


def sections(text: str, level: str) -> dict[str, str]:
    """``{title: body}`` for each heading of exactly ``level`` (``"##"``, ``"###"``)."""
    parts = re.split(rf"^{level} (.+)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def kind_sections(part: str) -> dict[str, str]:
    """``### `menu`: …`` → ``{"menu": body}``."""
    out = {}
    for title, body in sections(part, "###").items():
        match = re.match(r"`([a-z_]+)`", title)
        if match:
            out[match.group(1)] = body
    return out


def rows(body: str) -> dict[str, str]:
    """Table rows by their first cell's key: ``| `timeout` | duration | `5s` | … |``."""
    out = {}
    for line in body.splitlines():
        match = re.match(r"\|\s*`([^`]+)`\s*\|(.*)", line)
        if match:
            out[match.group(1)] = match.group(2)
    return out


@pytest.fixture(scope="module")
def flows_doc() -> dict[str, str]:
    return sections(FLOWS_MD.read_text(encoding="utf-8"), "##")


def _part(flows_doc: dict[str, str], title: str) -> str:
    assert title in flows_doc, f"docs/flows.md has no '## {title}' section"
    return flows_doc[title]


def test_every_block_kind_has_a_section(flows_doc):
    documented = kind_sections(_part(flows_doc, "Block kinds"))
    missing = sorted(set(BLOCK_FIELDS) - set(documented) | ({"step"} - set(documented)))
    assert not missing, (
        f"docs/flows.md: no section for block kind(s) {missing}: add '### `<kind>`: what it "
        "does' under '## Block kinds', with a table of its keys (Key | Type | Default | "
        "Meaning) and a ```yaml example"
    )


def test_every_action_kind_has_a_section(flows_doc):
    documented = kind_sections(_part(flows_doc, "Actions"))
    missing = sorted(set(ACTION_FIELDS) - set(documented))
    assert not missing, (
        f"docs/flows.md: no section for action kind(s) {missing}: add '### `<kind>`' under "
        "'## Actions', with a table of its keys and a ```yaml example"
    )


@pytest.mark.parametrize(
    ("part", "fields"),
    [("Block kinds", BLOCK_FIELDS), ("Actions", ACTION_FIELDS)],
)
def test_every_key_of_every_kind_has_a_row(flows_doc, part, fields):
    documented = kind_sections(_part(flows_doc, part))
    missing = []
    for kind, keys in fields.items():
        table = rows(documented.get(kind, ""))
        missing += [f"{kind}.{key}" for key in keys if key not in table]
    assert not missing, (
        f"docs/flows.md, '## {part}': no table row for {missing}: add "
        "'| `<key>` | type | default | meaning |' to that kind's section"
    )


def test_file_keys_and_common_block_keys_have_rows(flows_doc):
    table = rows(_part(flows_doc, "The file"))
    common = [k for k in BLOCK_KEYS if k not in BLOCK_FIELDS]
    missing = [k for k in (*TOP_KEYS, *common) if k not in table]
    assert not missing, (
        f"docs/flows.md, '## The file': no table row for {missing} "
        "(flow file keys in the first table, keys every block takes under '### Blocks')"
    )
    assert "when" in rows(_part(flows_doc, "Actions")), "docs/flows.md: document `when`"


def shown_default(value) -> str | None:
    """A model default as the docs write it (None: nothing simple to compare)."""
    if value is None or isinstance(value, tuple | frozenset | dict) or value == ():
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}s"
    return str(value)


@pytest.mark.parametrize(
    ("part", "fields", "classes"),
    [
        ("Block kinds", BLOCK_FIELDS, m.BLOCK_KINDS),
        ("Actions", ACTION_FIELDS, m.ACTION_KINDS),
    ],
)
def test_documented_defaults_match_the_model(flows_doc, part, fields, classes):
    documented = kind_sections(_part(flows_doc, part))
    wrong = []
    for kind, keys in fields.items():
        cls = classes.get(kind)
        if cls is None:  # play: a Say with a file
            continue
        table = rows(documented.get(kind, ""))
        defaults = {
            f.name: f.default
            for f in dataclasses.fields(cls)
            if f.default is not dataclasses.MISSING
        }
        for key in keys:
            default = defaults.get(FIELD_NAMES.get(key, key))
            shown = shown_default(default)
            if shown is None or key not in table:
                continue
            cells = table[key].split("|")
            if len(cells) < 3 or shown not in cells[1]:
                wrong.append(f"{kind}.{key}: the code's default is {shown}")
    assert not wrong, f"docs/flows.md, '## {part}': wrong default(s) {wrong}"


def test_every_kind_section_has_an_example(flows_doc):
    missing = []
    for part in ("Block kinds", "Actions"):
        for kind, body in kind_sections(_part(flows_doc, part)).items():
            if "```yaml" not in body:
                missing.append(f"{part}: {kind}")
    assert not missing, f"docs/flows.md: sections without a ```yaml example: {missing}"


# ------------------------------------------------------------------ examples load


def fences(text: str) -> list[tuple[str, int, str]]:
    """(language, first line, body) of every fenced block of a Markdown text."""
    out, lines = [], text.splitlines(keepends=True)
    start = language = None
    for number, line in enumerate(lines, start=1):
        if not line.startswith("```"):
            continue
        if start is None:
            start, language = number, line[3:].strip()
        else:
            out.append((language, start + 1, "".join(lines[start : number - 1])))
            start = None
    return out


def yaml_blocks(text: str) -> list[tuple[int, str]]:
    """(line, body) of every ```yaml block."""
    return [(line, body) for language, line, body in fences(text) if language == "yaml"]


def as_flow(snippet: object) -> dict:
    """A snippet (a whole flow, some blocks, or a list of actions) as a flow file."""
    if isinstance(snippet, dict) and "flow" in snippet:
        return dict(snippet, flow="doc")
    if isinstance(snippet, dict) and set(snippet) == {"actions"}:
        snippet = snippet["actions"]
    if isinstance(snippet, list):
        return {"flow": "doc", "blocks": {"doc_step": {"actions": snippet}}}
    assert isinstance(snippet, dict), snippet
    return {"flow": "doc", "blocks": dict(snippet)}


def load_example(folder: Path, data: dict, settings: Settings) -> m.Flow:
    """Load ``data``, adding a one-line block for each block it names but lacks."""
    library = FlowLibrary(folder, defaults=settings.defaults, settings=settings)
    path = folder / "doc.yaml"
    for _ in range(20):
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        try:
            return library.load(path, "doc")
        except FlowError as exc:
            errors = getattr(exc, "errors", (exc,))
            found = [re.search(r"no block '([^']+)'", e.message) for e in errors]
            if not all(found):
                raise
            names = {match.group(1) for match in found if match}
            data["blocks"].update({name: {"hangup": None} for name in names})
    raise AssertionError("the example names too many blocks")


def test_every_yaml_example_in_flows_md_loads(tmp_path):
    shutil.copytree(EXAMPLES / "flows" / "common", tmp_path / "common")
    settings = load_settings(EXAMPLES / "callbot.yaml")
    failures = []
    for line, body in yaml_blocks(FLOWS_MD.read_text(encoding="utf-8")):
        try:
            data = as_flow(yaml.safe_load(body))
            flow = load_example(tmp_path, data, settings)
        except (FlowError, AssertionError, yaml.YAMLError) as exc:
            errors = getattr(exc, "errors", (exc,))
            failures += [f"docs/flows.md:{line}: {getattr(e, 'message', e)}" for e in errors]
            continue
        errors = [f for f in lint(flow, settings) if f.severity == "error"]
        failures += [f"docs/flows.md:{line}: {f.message}" for f in errors]
    assert not failures, "\n".join(failures)


# ------------------------------------------------------------------ settings


def test_every_setting_has_a_meaning():
    missing = reference.undocumented()
    assert not missing, (
        f"settings without a meaning: {missing}. Add each to MEANINGS (settings) or "
        "GATEWAY_KEYS (a gateway's keys) in agi_callbot/meanings.py, then run `make docs`"
    )


def test_settings_md_embeds_the_current_tables():
    text = SETTINGS_MD.read_text(encoding="utf-8")
    assert reference.BEGIN in text and reference.END in text, "docs/settings.md lost its markers"
    assert text == reference.embed(text), (
        "docs/settings.md's tables differ from `agi-callbot settings --markdown` (a setting "
        "was added, removed or changed): run `make docs` and commit docs/settings.md"
    )


def test_settings_md_names_every_environment_variable():
    text = SETTINGS_MD.read_text(encoding="utf-8")
    missing = [row.env for row in reference.settings_rows() if f"`{row.env}`" not in text]
    assert not missing, f"docs/settings.md does not name {missing}: run `make docs`"


#: settings whose values are checked on load: a valid value unlike the default
CHECKED_VALUES = {
    "console.trusted_proxies": ("[10.0.0.5, 10.1.0.0/16]", ["10.0.0.5", "10.1.0.0/16"])
}


def unlike_default(row: reference.Row, a_file: Path) -> tuple[str, object]:
    """A value for ``row``'s variable unlike its default, and what the setting becomes."""
    if row.type == "path":
        return str(a_file), str(a_file)
    if row.type == "number":
        return str(int(row.default) + 1), int(row.default) + 1
    if row.type == "true/false":
        return ("false", False) if row.default == "true" else ("true", True)
    if row.key in CHECKED_VALUES:
        return CHECKED_VALUES[row.key]
    return {
        "duration": ("123s", "123s"),
        "list": ("[a, b]", ["a", "b"]),
        "mapping": ('{"x": {"y": 1}}', {"x": {"y": 1}}),
    }.get(row.type, ("changed", "changed"))


def test_environment_variable_names_are_the_ones_the_loader_reads(tmp_path):
    """Each documented variable, set to a value unlike the default, changes its setting."""
    a_file = tmp_path / "changed"
    a_file.write_text("")
    a_file.chmod(0o600)  # env_file must not be readable by others
    for row in reference.settings_rows():
        given, expected = unlike_default(row, a_file)
        node = reference.effective(load_settings(environ={row.env: given}))
        for part in row.key.split("."):
            node = node[part]
        assert node == expected, f"{row.env}={given} did not set {row.key}"


def test_every_secret_setting_is_listed():
    secrets = "\n".join(key for key, _, _ in reference.secrets())
    assert "`ami.secret_env`" in secrets
    for name in ("password_env", "auth_env", "auth_token_env", "token_env", "secret_env"):
        assert name in secrets, name


# ------------------------------------------------------------------ test cases


def test_tests_md_names_every_key_of_the_case_format():
    text = TESTS_MD.read_text(encoding="utf-8")
    table = rows(text)
    missing = sorted(
        k for k in {*CASE_KEYS, *SCENARIO_KEYS, *EXPECT_KEYS, "flow", "cases"} if k not in table
    )
    assert not missing, (
        f"docs/tests.md: no table row for {missing} (agi_callbot/sim/cases.py accepts them): "
        "add '| `<key>` | … |' to the file, call or expect table"
    )


# ------------------------------------------------------------------ README


def test_readme_dialplan_branches_on_every_status(tmp_path):
    from agi_callbot.asterisk.conf import dialplan, parse
    from agi_callbot.flow.blocks import call

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = next(body for _, _, body in fences(text) if "[callbot-in]" in body)
    path = tmp_path / "extensions.conf"
    path.write_text(block, encoding="utf-8")
    plan = dialplan(parse(path))
    goto = [s for s in plan.contexts["callbot-in"] if s.app == "Goto"]
    assert goto and goto[0].args.startswith("callbot-status,"), "branch on CALLBOT_STATUS"
    statuses = (call.COMPLETED, call.TRANSFERRED, call.HANGUP, call.NO_AGENT, call.FAILED)
    missing = [s for s in statuses if s not in plan.extensions("callbot-status")]
    assert not missing, f"README.md's dialplan has no extension for CALLBOT_STATUS {missing}"
    assert "FAILED" in goto[0].args, "an empty status (no node reached) must go to FAILED"


def test_user_facing_files_do_not_cite_a_design_document():
    files = [ROOT / "README.md", ROOT / ".ci" / "run", *DOCS.rglob("*.md")]
    for folder in ("examples", "asterisk-conf", "docker", "sounds", "agi_callbot/console/starters"):
        files += [p for p in (ROOT / folder).rglob("*") if p.is_file() and p.suffix != ".wav"]
    cited = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if re.search(r"DESIGN|del diseño|design doc", text):
            cited.append(str(path.relative_to(ROOT)))
    assert not cited, f"these cite a design document users do not have: {cited}"
