"""Settings as an admin meets them: errors that read as sentences, ``agi-callbot settings``."""

from __future__ import annotations

import pytest
import yaml

from agi_callbot.cli import main
from agi_callbot.config import load_settings
from agi_callbot.errors import ConfigError


@pytest.mark.parametrize(
    ("value", "shown"), [("abc", "'abc'"), ("4.5", "4.5"), ("", "nothing"), ("true", "True")]
)
def test_a_bad_number_from_the_environment_names_the_variable(value, shown):
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"CALLBOT_LISTEN__PORT": value})
    assert str(info.value) == (
        f"setting 'listen.port' (from CALLBOT_LISTEN__PORT): expected a whole number, got {shown}"
    )


def test_a_bad_number_in_the_file_reads_like_a_sentence(tmp_path):
    path = tmp_path / "callbot.yaml"
    path.write_text("outbox: {workers: four}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    assert str(info.value) == "setting 'outbox.workers': expected a whole number, got 'four'"
    assert "invalid literal" not in str(info.value)


def test_numbers_written_as_text_still_count():
    settings = load_settings(
        environ={"CALLBOT_LISTEN__PORT": "4600", "CALLBOT_OUTBOX__WORKERS": "+8"}
    )
    assert (settings.listen.port, settings.outbox.workers) == (4600, 8)


def test_an_unknown_variable_names_itself_and_the_closest_key():
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"CALLBOT_LISTEN__PROT": "4600"})
    assert "'listen.prot' (from CALLBOT_LISTEN__PROT)" in str(info.value)
    assert "did you mean 'port'" in str(info.value)


def test_settings_command_prints_what_the_node_would_use(tmp_path, capsys, monkeypatch):
    path = tmp_path / "callbot.yaml"
    path.write_text("listen: {port: 4600}\nflows_dir: flows\n")
    monkeypatch.setenv("CALLBOT_HTTP__PORT", "8095")
    assert main(["--config", str(path), "settings"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"# settings from {path}")
    printed = yaml.safe_load(out)
    assert printed["listen"]["port"] == 4600
    assert printed["http"]["port"] == 8095
    assert printed["flows_dir"] == str(tmp_path / "flows")
    assert printed["listen"]["media_timeout"] == "30m"
    assert printed["ami"]["secret_env"] == "AMI_SECRET"


def test_settings_markdown_is_the_reference(capsys):
    assert main(["settings", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "| `listen.port` | `CALLBOT_LISTEN__PORT` | number | `4573` |" in out
    assert "### Secrets: every `*_env` key" in out
