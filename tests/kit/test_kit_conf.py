"""asterisk-conf/ checked by reference: everything the dialplan names exists.

No Asterisk runs here: these checks, the transcripts the comments cite and
the config reader (``agi_callbot.asterisk.conf``) are what proves the kit.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agi_callbot.asterisk.conf import Dialplan, dialplan, parse, split_args
from agi_callbot.config import Ami, Http, Listen

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "asterisk-conf"
SOUNDS = ROOT / "sounds"
FLOWS = ROOT / "examples" / "flows"
MOH_MOUNT = "/var/lib/asterisk/moh/callbot/"  # where docker-compose mounts sounds/moh
OUTCOMES = ("COMPLETED", "TRANSFERRED", "HANGUP", "NO_AGENT", "FAILED")
TEAMS = ("ventas", "soporte", "sales", "support")


@pytest.fixture(scope="module")
def plan() -> Dialplan:
    return dialplan(parse(CONF / "extensions.conf"))


@pytest.fixture(scope="module")
def queues():
    return parse(CONF / "queues.conf")


@pytest.fixture(scope="module")
def moh():
    return parse(CONF / "musiconhold.conf")


def queue_names(plan: Dialplan) -> set[str]:
    names = {split_args(v)[0] for s in plan.steps("Queue") for v in plan.variants(s.args)}
    assert not [n for n in names if "${" in n], names
    return names


def flow_names(plan: Dialplan) -> set[str]:
    """Flows the dialplan runs: its AGI URLs, ${FLOW} and hosts resolved."""
    names: set[str] = set()
    for step in plan.steps("AGI"):
        for url in plan.variants(step.args):
            match = re.fullmatch(r"h?agi://[^/]+/([A-Za-z0-9_/-]+)(?:\?.*)?", url)
            assert match, f"{step.file.name}:{step.line}: not a FastAGI URL: {url}"
            names.add(match.group(1))
    return names


def test_every_file_parses():
    for path in sorted(CONF.glob("*.conf")):
        assert parse(path).sections(), path.name


def test_inbound_context_answers_and_runs_the_callbot(plan):
    assert "callbot-in" in plan.contexts
    run = [s.app for s in plan.contexts["callbot-run"] if s.exten == "s"]
    assert run[:4] == ["NoOp", "Answer", "Set", "AGI"]
    assert run[4] == "Goto"
    urls = [plan.expand(s.args) for s in plan.steps("AGI")]
    assert "agi://callbot:4573/soporte" in urls
    assert any(u.startswith("agi://callbot2:4573/") for u in urls), "second node for failover"


def test_agi_port_matches_the_settings_default(plan):
    for step in plan.steps("AGI"):
        port = re.match(r"agi://[^/:]+:(\d+)/", plan.expand(step.args))
        assert port and int(port.group(1)) == Listen().port


def test_every_callbot_status_has_a_branch(plan):
    for outcome in OUTCOMES:
        assert plan.has_extension("callbot-outcome", outcome), outcome
    for outcome in ("COMPLETED", "TRANSFERRED", "HANGUP"):
        steps = [s for s in plan.contexts["callbot-outcome"] if s.exten == outcome]
        assert [s.app for s in steps] == ["Hangup"]
    no_agent = {s.app for s in plan.contexts["callbot-outcome"] if s.exten == "NO_AGENT"}
    assert {"VoiceMail", "Queue"} <= no_agent
    failed = [s for s in plan.contexts["callbot-outcome"] if s.exten == "FAILED"]
    assert any(s.app == "AGI" and "callbot2" in plan.expand(s.args) for s in failed)
    # an empty status (node never reached) is treated as FAILED
    goto = plan.contexts["callbot-run"][-1]
    assert '""]?FAILED:' in goto.args


def test_every_context_a_call_passes_through_has_h(plan):
    for context in ("callbot-in", "callbot-run", "callbot-outcome", "callbot-fallback"):
        assert "h" in plan.extensions(context), context


def test_goto_targets_exist(plan):
    checked = 0
    for step in [*plan.steps("Goto"), *plan.steps("GotoIf")]:
        args = plan.expand(step.args)
        targets = [args]
        if step.app == "GotoIf":
            targets = re.split(r"[:]", args.split("?", 1)[1])
        for target in targets:
            parts = split_args(target)
            if any("${" in p for p in parts):
                continue  # computed: the outcome branches are checked above
            context, exten, label = step.context, step.exten, parts[-1]
            if len(parts) == 3:
                context, exten, label = parts
            elif len(parts) == 2:
                exten, label = parts
            assert context in plan.contexts, f"{step.line}: no context {context}"
            assert plan.has_extension(context, exten), f"{step.line}: no {exten}@{context}"
            if not label.isdigit():
                assert label in plan.labels(context, exten), f"{step.line}: no label {label}"
            checked += 1
    assert checked >= 10


def test_every_queue_the_dialplan_names_exists(plan, queues):
    named = queue_names(plan)
    assert named == {"soporte", "support", "sales"}, "the fallback branches queue the caller"
    assert named <= set(queues.names()) - {"general"}


def test_every_inbound_number_sets_what_the_branches_use(plan):
    for exten in plan.extensions("callbot-in") - {"h"}:
        steps = [s for s in plan.contexts["callbot-in"] if s.exten == exten]
        if steps[0].app == "Goto":
            continue  # jumps to an extension that does
        names = {s.args.split("=")[0] for s in steps if s.app == "Set"}
        assert {"FLOW", "LANG", "TEAM"} <= names, exten


def test_one_queue_per_team_with_its_music_and_safe_settings(queues, moh):
    assert set(queues.names()) - {"general"} == set(TEAMS)
    for team in TEAMS:
        queue = queues.section(team)
        assert queue.get("musicclass") == team
        assert queue.get("ringinuse") == "no"  # AMI "Available" = who Queue() would ring
        assert queue.get("wrapuptime") == "0"
        assert queue.get("announce-to-first-user") == "no"  # transcript 38
        assert queue.get("strategy") in ("ringall", "rrmemory", "leastrecent", "fewestcalls")
        assert int(queue.get("timeout")) > 0
        assert queue.values("member"), team


def test_every_music_class_exists_with_files(queues, moh):
    classes = set(moh.names()) - {"general"}
    assert {"default", *TEAMS} <= classes
    for queue in queues.sections():
        if queue.get("musicclass"):
            assert queue.get("musicclass") in classes
    for name in classes:
        section = moh.section(name)
        assert section.get("mode") == "files"
        directory = section.get("directory")
        assert directory.startswith(MOH_MOUNT), directory
        folder = SOUNDS / "moh" / directory[len(MOH_MOUNT) :]
        assert folder.name == name and folder.is_dir()
        assert any(p.suffix in (".sln", ".ulaw", ".sln16") for p in folder.iterdir())
    assert moh.section("general").get("preferchannelclass") == "no"  # transcript 41


def test_members_and_agents_are_pjsip_endpoints(plan, queues):
    pjsip = parse(CONF / "pjsip.conf")
    endpoints = {c.name for c in pjsip.sections() if c.get("type") == "endpoint"}
    assert endpoints == {"1001", "1002"}
    for queue in queues.sections():
        for member in queue.values("member"):
            interface, _, rest = member.partition(",")
            assert interface.startswith("PJSIP/") and interface[6:] in endpoints
            assert rest.split(",")[-1] == interface  # state_interface: busy phones are not rung
    for endpoint in (c for c in pjsip.sections() if c.get("type") == "endpoint"):
        assert endpoint.get("context") in plan.contexts
        for ref in ("auth", "aors"):
            assert any(
                c.name == endpoint.get(ref) and c.get("type") in ("auth", "aor")
                for c in pjsip.sections()
            )
        transport = pjsip.section(endpoint.get("transport"))
        assert transport.get("type") == "transport" and transport.get("bind").endswith(":5060")


def test_sounds_and_mailboxes_the_dialplan_names_exist(plan):
    played = {v.split(",")[0] for s in plan.steps("Playback") for v in plan.variants(s.args)}
    assert played == {"callbot/es/technical-problem", "callbot/en/technical-problem"}
    for name in played:
        assert list((SOUNDS / name).parent.glob(Path(name).name + ".*")), name
    voicemail = parse(CONF / "voicemail.conf")
    for step in plan.steps("VoiceMail"):
        box, _, context = plan.expand(split_args(step.args)[0]).partition("@")
        section = voicemail.section(context or "default")
        assert section is not None and section.get(box), box


def test_manager_is_local_and_read_only():
    manager = parse(CONF / "manager.conf")
    general = manager.section("general")
    assert general.get("bindaddr") == "127.0.0.1"
    assert int(general.get("port")) == Ami().port
    user = manager.section(Ami().username)
    assert user is not None and user.get("secret")
    assert user.get("permit") == "127.0.0.1/255.255.255.255"
    # read only chooses which events the session is sent: system events (FullyBooted,
    # Reload, Shutdown: the live queues reread after them) carry no call content and grant
    # nothing; as a write class, system could restart Asterisk
    forbidden = {"all", "command", "originate", "config", "call"}
    for key, refused in (("read", forbidden), ("write", forbidden | {"system"})):
        granted = {c.strip() for c in user.get(key).split(",")}
        assert not granted & refused, key
    assert {c.strip() for c in user.get("read").split(",")} == {"system", "agent"}
    text = (CONF / "manager.conf").read_text()
    assert re.search(r"CHANGE THIS", text)


def test_modules_the_callbot_needs_are_required_or_loaded():
    modules = parse(CONF / "modules.conf").section("modules")
    wanted = set(modules.values("require")) | set(modules.values("load"))
    for module in (
        "res_agi.so",
        "app_queue.so",
        "res_musiconhold.so",
        "chan_pjsip.so",
        "res_http_media_cache.so",
        "res_curl.so",
    ):
        assert module in wanted, module


def test_asterisk_http_keeps_clear_of_the_callbot_port():
    general = parse(CONF / "http.conf").section("general")
    assert int(general.get("bindport")) != Http().port


def test_flows_the_dialplan_runs_exist(plan):
    names = flow_names(plan)
    assert names == {"soporte", "support", "demo"}
    if not FLOWS.is_dir():
        pytest.skip("examples/flows/ is not there yet")
    for name in names:
        assert (FLOWS / f"{name}.yaml").is_file(), name


def test_teams_music_and_agents_of_the_example_flows_exist(queues, moh):
    loader = pytest.importorskip("agi_callbot.flow.loader", reason="flow engine missing")
    if not FLOWS.is_dir():
        pytest.skip("examples/flows/ is not there yet")
    from agi_callbot.flow.model import Transfer

    library = loader.FlowLibrary(FLOWS)
    assert not library.load_all()
    pjsip = parse(CONF / "pjsip.conf")
    endpoints = {f"PJSIP/{c.name}" for c in pjsip.sections() if c.get("type") == "endpoint"}
    seen = set()
    for name in library.names():
        for block in library.get(name).blocks.values():
            if not isinstance(block.spec, Transfer):
                continue
            spec = block.spec
            if spec.team:
                assert spec.team in queues.names(), f"{name}: queue {spec.team}"
                seen.add(spec.team)
            if spec.music:
                assert spec.music in moh.names(), f"{name}: MOH class {spec.music}"
            if spec.agent and "${" not in spec.agent:
                assert spec.agent in endpoints, f"{name}: agent {spec.agent}"
    assert seen == set(TEAMS)
