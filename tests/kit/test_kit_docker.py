"""docker/ checked structurally: no container engine here, so every path,
port, volume and command the Dockerfiles, the compose file and the systemd units name is
checked against the repository, the settings defaults and asterisk-conf/."""

from __future__ import annotations

import configparser
import fnmatch
import re
import shlex
from pathlib import Path

import pytest
import yaml

from agi_callbot import kit
from agi_callbot.asterisk.conf import dialplan, parse
from agi_callbot.cli import build_parser
from agi_callbot.config import Ami, Http, Listen, load_settings

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
CONF = ROOT / "asterisk-conf"


def instructions(path: Path) -> list[tuple[str, str]]:
    """Dockerfile instructions (continuations joined, comments dropped)."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        word, _, rest = full.partition(" ")
        out.append((word.upper(), rest.strip()))
    assert not pending, f"{path.name}: dangling line continuation"
    return out


def ignored(dockerignore: Path, relative: str) -> bool:
    """The .dockerignore rules: the last matching pattern wins, ``!`` re-includes."""
    result = False
    for raw in dockerignore.read_text(encoding="utf-8").splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = relative.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(p, pattern) for p in prefixes) or fnmatch.fnmatch(relative, pattern):
            result = not negate
    return result


def substitute(value: str) -> str:
    """``${VAR:-default}`` → default, as compose does when VAR is unset."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value))


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "docker-compose.yml").read_text(encoding="utf-8"))


def mounts(service: dict) -> list[tuple[str, str, bool]]:
    out = []
    for volume in service.get("volumes", []):
        parts = volume.split(":")
        out.append((parts[0], parts[1], len(parts) > 2 and parts[2] == "ro"))
    return out


def test_services_and_profiles(compose):
    services = compose["services"]
    assert set(services) == {"asterisk", "callbot", "callbot2", "postgres"}
    assert "profiles" not in services["asterisk"] and "profiles" not in services["callbot"]
    assert services["callbot2"]["profiles"] == ["failover"]
    assert services["postgres"]["profiles"] == ["postgres"]


def test_builds_name_existing_contexts_and_dockerfiles(compose):
    for name, service in compose["services"].items():
        build = service.get("build")
        if build is None:
            assert "image" in service, name
            continue
        context = (DOCKER / build["context"]).resolve()
        assert context == ROOT
        assert (context / build["dockerfile"]).is_file(), name


def test_bind_mounts_exist_and_named_volumes_are_declared(compose):
    declared = set(compose.get("volumes") or {})
    used = set()
    for name, service in compose["services"].items():
        for source, target, _ in mounts(service):
            assert target.startswith("/"), (name, target)
            if source.startswith((".", "/")):
                assert (DOCKER / source).exists(), (name, source)
            else:
                assert source in declared, (name, source)
                used.add(source)
    assert used == declared


def test_asterisk_gets_every_kit_file_and_the_sounds(compose):
    asterisk = {target: source for source, target, _ in mounts(compose["services"]["asterisk"])}
    for conf in CONF.glob("*.conf"):
        assert asterisk.get(f"/etc/asterisk/{conf.name}") == f"../asterisk-conf/{conf.name}"
    moh = parse(CONF / "musiconhold.conf")
    directory = moh.section("default").get("directory")
    assert asterisk[str(Path(directory).parent)] == "../sounds/moh"
    assert asterisk["/var/lib/asterisk/sounds/callbot"] == "../sounds/callbot"
    # prompts.delivery local: Asterisk opens the callbot's cache at the same path, read-only
    callbot = {source: target for source, target, _ in mounts(compose["services"]["callbot"])}
    data = callbot["callbot-data"]
    assert asterisk[data] == "callbot-data"
    assert all(ro for _, _, ro in mounts(compose["services"]["asterisk"]))


def test_hosts_and_ports_agree_with_the_dialplan_and_settings(compose):
    services = compose["services"]
    plan = dialplan(parse(CONF / "extensions.conf"))
    nodes = {plan.globals["CALLBOT_NODE1"], plan.globals["CALLBOT_NODE2"]}
    hosts = dict(h.split(":") for h in services["asterisk"]["extra_hosts"])
    for node in nodes:
        host, port = node.split(":")
        assert int(port) == Listen().port
        assert host in hosts
    for name in ("callbot", "callbot2"):
        env = services[name]["environment"]
        assert env["CALLBOT_LISTEN__HOST"] == hosts[name]
        assert int(env["CALLBOT_LISTEN__PORT"]) == Listen().port
        assert int(env["CALLBOT_HTTP__PORT"]) == Http().port
        assert services[name]["network_mode"] == services["asterisk"]["network_mode"] == "host"
    manager = parse(CONF / "manager.conf")
    env = services["callbot"]["environment"]
    assert int(env["CALLBOT_AMI__PORT"]) == int(manager.section("general").get("port"))
    assert env["CALLBOT_AMI__HOST"] == manager.section("general").get("bindaddr")
    assert substitute(env["AMI_SECRET"]) == manager.section("callbot").get("secret")
    assert services["postgres"]["ports"] == ["127.0.0.1:5432:5432"]


@pytest.mark.parametrize("service", ["callbot", "callbot2"])
def test_callbot_environment_is_valid_settings(compose, service):
    env = {k: substitute(v) for k, v in compose["services"][service]["environment"].items()}
    env.pop("CALLBOT_CONFIG")
    settings = load_settings(ROOT / "examples" / "callbot.yaml", environ=env)
    assert settings.ami.enabled and settings.listen.port == Listen().port
    assert str(settings.data_dir) == "/var/lib/callbot"


def test_callbot_image_runs_as_a_user_with_a_healthcheck():
    steps = instructions(DOCKER / "Dockerfile")
    words = [w for w, _ in steps]
    assert words[0] == "FROM" and "python:3.11" in steps[0][1]
    user = [arg for w, arg in steps if w == "USER"]
    assert user and user[-1] not in ("root", "0")
    assert words.index("USER") < words.index("CMD")
    (health,) = [arg for w, arg in steps if w == "HEALTHCHECK"]
    assert f"http://127.0.0.1:{Http().port}/healthz" in health
    exposed = {p for w, arg in steps if w == "EXPOSE" for p in arg.split()}
    assert {f"{Listen().port}/tcp", f"{Http().port}/tcp"} <= exposed
    env = " ".join(arg for w, arg in steps if w == "ENV")
    assert "CALLBOT_CONFIG=/etc/agi-callbot/callbot.yaml" in env


def test_callbot_image_copies_only_what_exists_and_is_not_ignored():
    steps = instructions(DOCKER / "Dockerfile")
    ignore = DOCKER / "Dockerfile.dockerignore"
    copied = set()
    for word, arg in steps:
        if word != "COPY":
            continue
        *sources, _ = arg.split()
        for source in sources:
            assert (ROOT / source).exists(), source
            assert not ignored(ignore, source.rstrip("/")), source
            copied.add(source.rstrip("/"))
    # what `pip install .` builds from: the package, its build step, the kit it copies in
    assert {"setup.cfg", "setup.py", "pyproject.toml", "agi_callbot", *kit.FOLDERS} <= copied
    assert ignored(ignore, "tests/kit/test_kit_docker.py")
    assert ignored(ignore, "agi_callbot/__pycache__")
    assert ignored(ignore, "examples/var")


def test_callbot_image_command_is_a_real_sub_command():
    steps = dict(instructions(DOCKER / "Dockerfile"))
    entry = yaml.safe_load(steps["ENTRYPOINT"])
    command = yaml.safe_load(steps["CMD"])
    assert entry == ["agi-callbot"]
    args = build_parser().parse_args(command)
    assert args.command == "serve" and callable(args.func)


def test_asterisk_image():
    steps = instructions(DOCKER / "Dockerfile.asterisk")
    assert steps[0] == ("FROM", "alpine:3.20")
    packages = " ".join(arg for w, arg in steps if w == "RUN")
    for package in ("asterisk", "asterisk-curl", "asterisk-sounds-en"):
        assert re.search(rf"\b{package}\b", packages), package
    for folder in (
        "/var/lib/asterisk/moh/callbot",
        "/var/lib/asterisk/sounds/callbot",
        "/var/lib/callbot",
    ):
        assert folder in packages
    exposed = {p for w, arg in steps if w == "EXPOSE" for p in arg.split()}
    bind = parse(CONF / "pjsip.conf").section("transport-udp").get("bind")
    assert f"{bind.rsplit(':', 1)[1]}/udp" in exposed
    assert f"{Ami().port}/tcp" in exposed
    assert ignored(DOCKER / "Dockerfile.asterisk.dockerignore", "anything")


@pytest.mark.parametrize(
    ("unit", "command"),
    [("agi-callbot.service", ["serve"]), ("agi-callbot-outbox.service", ["outbox", "work"])],
)
def test_systemd_units(unit, command):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys are case-sensitive in systemd
    parser.read(DOCKER / unit, encoding="utf-8")
    assert set(parser.sections()) == {"Unit", "Service", "Install"}
    service = parser["Service"]
    exec_start = shlex.split(service["ExecStart"])
    assert exec_start[0] == "/opt/agi-callbot/bin/agi-callbot"
    assert exec_start[1:] == command
    args = build_parser().parse_args(exec_start[1:])
    assert callable(args.func)
    assert service["User"] not in ("root", "0")
    # configparser keeps only the last of repeated keys: read every Environment= line
    environment = re.findall(r"^Environment=(.*)$", (DOCKER / unit).read_text(), re.M)
    assert "CALLBOT_CONFIG=/etc/agi-callbot/callbot.yaml" in environment
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) >= 30
    assert parser["Install"]["WantedBy"] == "multi-user.target"
