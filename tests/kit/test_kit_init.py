"""``agi-callbot init DIR``: a node folder that serves, validates and tests as written."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import stat
import sys
from pathlib import Path

import pytest
import yaml

from agi_callbot.asterisk.conf import dialplan, parse
from agi_callbot.cli import main
from agi_callbot.config import Settings, load_settings, read_env_file
from agi_callbot.errors import ConfigError
from agi_callbot.kit import settings_file
from agi_callbot.sim.asterisk import MemoryAsterisk
from agi_callbot.sim.setup import AsteriskSetup

ROOT = Path(__file__).resolve().parents[2]
SETTING_LINE = re.compile(r"^(\s*)# (\s*)([a-z_]+:.*)$")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CALLBOT_CONFIG", raising=False)
    folder = tmp_path / "mynode"
    assert main(["init", str(folder)]) == 0
    return folder


def test_the_node_folder_has_everything_the_issue_lists(made: Path):
    assert (made / "callbot.yaml").is_file()
    for name in ("soporte", "support", "demo", "common/survey_offer"):
        assert (made / "flows" / f"{name}.yaml").is_file(), name
        assert (made / "flows" / f"{name}.test.yaml").is_file(), name
    for language in ("es", "en"):
        assert (made / "sounds" / "callbot" / language / "technical-problem.ulaw").is_file()
    music = made / "sounds" / "moh" / "default" / "callbot-hold.ulaw"
    assert music.is_file() and not music.is_symlink()
    for team in ("ventas", "soporte", "sales", "support"):
        link = made / "sounds" / "moh" / team / "callbot-hold.ulaw"
        assert link.is_symlink() and link.resolve() == music.resolve()
    for conf in ROOT.joinpath("asterisk-conf").glob("*.conf"):
        assert (made / "asterisk" / conf.name).is_file(), conf.name


def test_flows_and_sounds_are_the_kit_s_bytes(made: Path):
    for source in (ROOT / "examples" / "flows").rglob("*.yaml"):
        copy = made / "flows" / source.relative_to(ROOT / "examples" / "flows")
        assert copy.read_bytes() == source.read_bytes()
    for source in (ROOT / "sounds" / "callbot").rglob("*.ulaw"):
        copy = made / "sounds" / source.relative_to(ROOT / "sounds")
        assert copy.read_bytes() == source.read_bytes()


def test_the_ami_secret_is_fresh_private_and_the_same_on_both_sides(tmp_path: Path, made: Path):
    env = made / "callbot.env"
    assert mode(env) == 0o600
    assert mode(made / "asterisk" / "manager.conf") == 0o600
    assert mode(made / "asterisk" / "pjsip.conf") == 0o600
    assert mode(made / "asterisk" / "extensions.conf") == 0o644
    values = dict(
        line.split("=", 1) for line in env.read_text().splitlines() if not line.startswith("#")
    )
    secret = values["AMI_SECRET"]
    assert re.fullmatch(r"[0-9a-f]{48}", secret)
    manager = parse(made / "asterisk" / "manager.conf")
    assert manager.section("callbot").get("secret") == secret
    # never in the settings file
    assert secret not in (made / "callbot.yaml").read_text()
    # a second node gets another secret, and other agent passwords
    assert main(["init", str(tmp_path / "other")]) == 0
    other = parse(tmp_path / "other" / "asterisk" / "manager.conf").section("callbot")
    assert other.get("secret") != secret
    pjsip = [parse(f / "asterisk" / "pjsip.conf") for f in (made, tmp_path / "other")]
    passwords = [
        [c.get("password") for c in conf.sections() if c.get("type") == "auth"] for conf in pjsip
    ]
    assert len(passwords[0]) == 2 and not set(passwords[0]) & set(passwords[1])
    assert not any("change-me" in p for p in passwords[0])


def test_the_settings_read_the_secret_from_the_env_file(
    made: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("AMI_SECRET", raising=False)
    environ: dict[str, str] = {}
    settings = load_settings(made / "callbot.yaml", environ=environ)
    assert settings.env_file == made / "callbot.env"
    manager = parse(made / "asterisk" / "manager.conf")
    assert environ["AMI_SECRET"] == manager.section("callbot").get("secret")
    # the real environment wins over the file
    environ = {"AMI_SECRET": "from-systemd"}
    load_settings(made / "callbot.yaml", environ=environ)
    assert environ["AMI_SECRET"] == "from-systemd"


def test_the_dialplan_dials_this_node(tmp_path: Path):
    folder = tmp_path / "n"
    argv = ["init", str(folder), "--host", "10.1.2.3", "--port", "4600", "--http-port", "8100"]
    assert main([*argv, "--second-node", "10.1.2.4:4600"]) == 0
    plan = dialplan(parse(folder / "asterisk" / "extensions.conf"))
    assert plan.globals["CALLBOT_NODE1"] == "10.1.2.3:4600"
    assert plan.globals["CALLBOT_NODE2"] == "10.1.2.4:4600"
    urls = [s.args for s in plan.steps("AGI")]
    assert "agi://10.1.2.3:4600/soporte" in urls
    assert not [u for u in urls if "callbot:4573" in u or "callbot2" in u]
    settings = load_settings(folder / "callbot.yaml", environ={})
    assert (settings.listen.host, settings.listen.port, settings.http.port) == (
        "10.1.2.3",
        4600,
        8100,
    )


def test_a_remote_asterisk_binds_ami_to_its_address_and_permits_only_this_node(tmp_path: Path):
    folder = tmp_path / "n"
    argv = ["init", str(folder), "--host", "10.1.2.3", "--ami-host", "10.9.9.9"]
    assert main([*argv, "--ami-port", "5039"]) == 0
    manager = parse(folder / "asterisk" / "manager.conf")
    general = manager.section("general")
    assert (general.get("bindaddr"), general.get("port")) == ("10.9.9.9", "5039")
    assert manager.section("callbot").get("permit") == "10.1.2.3/255.255.255.255"
    # the kit's own (loopback) node keeps AMI on the loopback
    local = parse(ROOT / "asterisk-conf" / "manager.conf").section("general").get("bindaddr")
    assert local == "127.0.0.1"


def test_a_non_empty_folder_is_refused_unless_forced(tmp_path: Path, capsys):
    folder = tmp_path / "busy"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    assert main(["init", str(folder)]) == 2  # a configuration error
    assert "not empty" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    assert main(["init", str(folder), "--force"]) == 0
    assert (folder / "notes.txt").read_text() == "mine"
    assert (folder / "callbot.yaml").is_file()


def test_init_prints_the_three_next_steps(tmp_path: Path, capsys):
    assert main(["init", str(tmp_path / "n")]) == 0
    out = capsys.readouterr().out
    steps = re.findall(r"^  (\d)\. ", out, re.M)
    assert steps == ["1", "2", "3"]
    assert "/etc/asterisk/" in out and "agi-callbot serve" in out and "call 100" in out


def test_every_setting_is_in_the_file_with_its_default(made: Path):
    text = (made / "callbot.yaml").read_text()
    assert set(settings_file.HELP) == {f for f in Settings.__dataclass_fields__ if f != "source"}
    # what is set: exactly the node's values
    assert yaml.safe_load(text) == {
        "env_file": "callbot.env",
        "templates": {
            "encuesta": {"language": "es", "params": 1},
            "survey": {"language": "en", "params": 1},
        },
        "log": {"format": "text"},
    }
    # every line uncommented: the embedded defaults, all of them
    uncommented = "\n".join(SETTING_LINE.sub(r"\1\2\3", line) for line in text.splitlines())
    data = yaml.safe_load(uncommented)
    everything = load_settings(made / "callbot.yaml", environ={})
    (made / "all.yaml").write_text(uncommented)
    with_all = load_settings(made / "all.yaml", environ={})
    assert with_all == everything.__class__(**{**vars(everything), "source": with_all.source})
    fields = {f for f in Settings.__dataclass_fields__ if f != "source"}
    assert set(data) == fields
    for name in ("listen", "http", "tts", "prompts", "outbox", "ami", "flows"):
        section = getattr(Settings(), name)
        assert set(data[name]) == set(section.__dataclass_fields__), name


def test_the_node_validates_tests_and_simulates_from_its_folder(
    made: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    monkeypatch.chdir(made)
    assert main(["validate", "--strict"]) == 0
    assert main(["test", "flows"]) == 0
    capsys.readouterr()
    assert main(["simulate", "support", "--dtmf", "wait:3,1"]) == 0
    assert "status:" in capsys.readouterr().out
    assert main(["doctor", "--asterisk-conf", "asterisk"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^ami\s+skip\s+AMI off", out, re.M), out
    assert str(made / "callbot.yaml") in out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_cd_node_and_serve_answers_a_call_to_the_example_flows(made: Path):
    port, http = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLBOT_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agi_callbot", "serve", "--port", str(port),
        "--http-port", str(http), cwd=made, env=env, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(300):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                assert proc.returncode is None, await proc.stderr.read()  # type: ignore[union-attr]
                await asyncio.sleep(0.05)
        ast = MemoryAsterisk(
            AsteriskSetup(
                "support", callerid="+34600111222", language="en", caller="wait:3,2,wait:3,1"
            )
        )
        await ast.call("127.0.0.1", port)
        assert ast.variables["CALLBOT_STATUS"] == "COMPLETED"
        assert (made / "var" / "calls.sqlite").is_file()
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)


def test_kit_export_writes_only_the_asterisk_files_for_the_settings(
    made: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    monkeypatch.chdir(made)
    monkeypatch.delenv("AMI_SECRET", raising=False)
    target = tmp_path / "etc-asterisk"
    assert main(["kit", "export", str(target)]) == 0
    names = sorted(p.name for p in target.iterdir())
    assert names == sorted(p.name for p in (ROOT / "asterisk-conf").iterdir())
    # the node's secret, not a new one: the node keeps logging in
    secret = parse(made / "asterisk" / "manager.conf").section("callbot").get("secret")
    assert parse(target / "manager.conf").section("callbot").get("secret") == secret
    assert mode(target / "manager.conf") == 0o600
    assert main(["kit", "export", str(target)]) == 2  # not empty: a configuration error
    capsys.readouterr()


def test_kit_export_without_a_node_writes_a_fresh_secret_beside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AMI_SECRET", raising=False)
    env = {"CALLBOT_LISTEN__PORT": "4700", "CALLBOT_AMI__USERNAME": "bot"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["kit", "export", "out"]) == 0
    secret = read_env_file(tmp_path / "out" / "callbot.env")["AMI_SECRET"]
    manager = parse(tmp_path / "out" / "manager.conf")
    assert manager.section("bot").get("secret") == secret
    assert manager.section("callbot") is None
    plan = dialplan(parse(tmp_path / "out" / "extensions.conf"))
    assert plan.globals["CALLBOT_NODE1"] == "127.0.0.1:4700"


@pytest.mark.parametrize(
    ("content", "mode_bits", "message"),
    [
        ("AMI_SECRET=x\n", 0o644, "chmod 600"),
        ("CALLBOT_LISTEN__PORT=1\n", 0o600, "put it in the settings file"),
        ("# fine\n\nnot a pair\n", 0o600, "callbot.env:3: expected KEY=value"),
    ],
)
def test_a_bad_env_file_is_refused_with_the_reason(
    tmp_path: Path, content: str, mode_bits: int, message: str
):
    env = tmp_path / "callbot.env"
    env.write_text(content)
    env.chmod(mode_bits)
    (tmp_path / "callbot.yaml").write_text("env_file: callbot.env\n")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(tmp_path / "callbot.yaml", environ={})


def test_env_file_syntax(tmp_path: Path):
    env = tmp_path / "s.env"
    env.write_text("# c\nexport A=1\nB = 'two words'\nC=\"x=y\"\n")
    env.chmod(0o640)
    assert read_env_file(env) == {"A": "1", "B": "two words", "C": "x=y"}


def test_the_settings_file_is_found_in_this_order(
    made: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    other = tmp_path / "other.yaml"
    other.write_text("listen: {port: 4999}\n")
    monkeypatch.chdir(made)
    assert load_settings(environ={}).source == made / "callbot.yaml"
    assert load_settings(environ={"CALLBOT_CONFIG": str(other)}).source == other
    assert load_settings(other, environ={"CALLBOT_CONFIG": "nope.yaml"}).source == other
    monkeypatch.chdir(tmp_path)
    assert load_settings(environ={}).source is None


def test_a_wildcard_listener_is_dialled_by_the_machine_s_name(tmp_path: Path):
    assert main(["init", str(tmp_path / "n"), "--host", "0.0.0.0"]) == 0
    plan = dialplan(parse(tmp_path / "n" / "asterisk" / "extensions.conf"))
    assert plan.globals["CALLBOT_NODE1"] == f"{socket.getfqdn()}:4573"
    assert main(["init", str(tmp_path / "v6"), "--host", "::1", "--port", "4600"]) == 0
    plan = dialplan(parse(tmp_path / "v6" / "asterisk" / "extensions.conf"))
    assert plan.globals["CALLBOT_NODE1"] == "[::1]:4600"
