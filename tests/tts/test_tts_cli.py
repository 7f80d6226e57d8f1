"""``prompts build|list|prune`` and ``moh add`` as an admin runs them (real espeak-ng, sox)."""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from pathlib import Path

import pytest
from tts_helpers import tone_wav

from agi_callbot.cli import prompts as prompts_cli
from agi_callbot.errors import CallbotError

SOPORTE = """\
flow: soporte
language: es
voice: {engine: espeak-ng, voice: es}
start: welcome
blocks:
  welcome:
    say: "Hola, gracias por llamar a Acme."
    next: main_menu
  main_menu:
    menu:
      prompt: "Para ventas pulse 1. Para hablar con una persona pulse 0."
      options: {"1": sales, "0": agent}
      no_input: "No he recibido ninguna opción."
      invalid: "Esa opción no es válida."
  greet_by_name:
    say: "Hola ${caller_name}."
    actions:
      - sms: {to: "${caller}", text: "Este texto es un SMS y nunca se dice."}
  sales:
    transfer: {team: ventas, announce: "Le paso con ventas."}
  agent:
    hangup: {message: {es: "Gracias por llamar. Adiós.", en: "Thank you for calling. Goodbye."}}
"""

BROKEN_LANGUAGE = """\
flow: klingon
language: tlh
blocks:
  welcome:
    say: "nuqneH"
"""


def run(config: Path, *argv: str) -> int:
    """The CLI as ``agi-callbot --config F …`` runs it (errors → exit 1, printed)."""
    parser = argparse.ArgumentParser(prog="agi-callbot")
    parser.add_argument("--config")
    prompts_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["--config", str(config), *argv])
    try:
        return int(args.func(args))
    except CallbotError as exc:
        print(f"agi-callbot: {exc}")
        return 1


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "soporte.yaml").write_text(SOPORTE, encoding="utf-8")
    path = tmp_path / "callbot.yaml"
    path.write_text(
        "data_dir: var\nflows_dir: flows\nmoh_dir: moh\ntts: {recordings_dir: recordings}\n"
    )
    return path


def test_build_renders_every_prompt_with_a_progress_bar(
    config: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    assert run(config, "prompts", "build") == 0
    out, err = capfd.readouterr()
    # welcome, menu prompt, no_input, invalid, announce, message in es and en; one dynamic
    assert "[##############################] 8/8" in err
    assert "7 prompts" not in out and "8 prompts in 4 formats" in out
    assert "0 hits, 7 misses, 0 failures, 1 with variables" in out
    cache = config.parent / "var" / "prompts"
    audio = [p for p in cache.iterdir() if p.suffix != ".json"]
    assert len(audio) == 7 * 4 and all(p.stat().st_size > 0 for p in audio)
    texts = {p.read_text() for p in cache.glob("*.json")}
    assert not any("SMS" in t for t in texts)

    assert run(config, "prompts", "build", "soporte") == 0
    assert "7 hits, 0 misses, 0 failures" in capfd.readouterr().out


def test_build_output_for_deployed_delivery(
    config: Path, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    output = tmp_path / "deploy"
    assert run(config, "prompts", "build", "--output", str(output)) == 0
    assert "copy " in capfd.readouterr().out
    names = sorted(os.listdir(output))
    assert len(names) == 7 * 4
    assert {n.split(".")[1] for n in names} == {"sln16", "sln", "ulaw", "alaw"}


def test_build_fails_when_a_prompt_cannot_be_produced(
    config: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (config.parent / "flows" / "klingon.yaml").write_text(BROKEN_LANGUAGE)
    assert run(config, "prompts", "build") == 1
    out, err = capfd.readouterr()
    assert "1 failures" in out
    assert "error: klingon:welcome [tlh]: no engine speaks 'tlh'" in err


def test_build_fails_on_a_corrupt_recording_and_names_it(
    config: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    folder = config.parent / "recordings" / "es"
    folder.mkdir(parents=True)
    (folder / "welcome.wav").write_bytes(b"RIFF but not really")
    assert run(config, "prompts", "build", "soporte") == 1
    _, err = capfd.readouterr()
    assert "soporte:welcome [es]: recording:" in err
    assert "welcome.wav: not a readable audio file" in err


def test_build_unknown_flow(config: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert run(config, "prompts", "build", "nothere") == 1
    assert "no flow 'nothere'" in capfd.readouterr().out


def test_list_and_prune(config: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert run(config, "prompts", "build") == 0
    cache = config.parent / "var" / "prompts"
    # a prompt rendered during a call (a text with variables), long ago
    extra = "e" * 64
    (cache / f"{extra}.sln16").write_bytes(b"\1" * 100)
    long_ago = time.time() - 30 * 86400
    os.utime(cache / f"{extra}.sln16", (long_ago, long_ago))
    capfd.readouterr()

    assert run(config, "prompts", "list") == 0
    out = capfd.readouterr().out
    assert "8 prompts" in out
    assert out.count("soporte") == 7
    assert "Hola, gracias por llamar a Acme." in out

    assert run(config, "prompts", "prune", "--dry-run") == 0
    assert "would remove eeeeeeeeeeeeeeee" in capfd.readouterr().out
    assert (cache / f"{extra}.sln16").exists()
    assert run(config, "prompts", "prune") == 0
    assert "1 stale prompts" in capfd.readouterr().out
    assert not (cache / f"{extra}.sln16").exists()
    assert len(list(cache.glob("*.sln16"))) == 7


def test_moh_add_converts_uploads_and_prints_the_section(
    config: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    wav = tmp_path / "Summer Song.wav"
    wav.write_bytes(tone_wav(440, 44100, 2.0, channels=2))
    mp3 = tmp_path / "jazz.mp3"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(wav), str(mp3)], check=True)
    assert run(config, "moh", "add", "ventas", str(wav), str(mp3)) == 0
    folder = config.parent / "moh" / "ventas"
    formats = ("sln16", "sln", "ulaw", "alaw")
    expected = [f"{name}.{ext}" for name in ("summer_song", "jazz") for ext in formats]
    assert sorted(os.listdir(folder)) == sorted(expected)
    assert abs((folder / "summer_song.sln").stat().st_size - 2 * 16000) < 800
    out = capfd.readouterr().out
    assert f"[ventas]\nmode = files\ndirectory = {folder}\nsort = alpha\n" in out


def test_moh_add_updates_musiconhold_conf(config: Path, tmp_path: Path) -> None:
    wav = tmp_path / "song.wav"
    wav.write_bytes(tone_wav(440, 8000, 1.0))
    conf = tmp_path / "musiconhold.conf"
    conf.write_text(
        "[default]\nmode = files\ndirectory = moh\n\n"
        "[ventas]\nmode = files\ndirectory = /old\n\n[soporte]\nmode = files\n"
    )
    assert (
        run(
            config,
            "moh",
            "add",
            "ventas",
            str(wav),
            "--conf",
            str(conf),
            "--directory",
            "/var/lib/asterisk/moh/ventas",
        )
        == 0
    )
    text = conf.read_text()
    assert "/old" not in text
    section = "[ventas]\nmode = files\ndirectory = /var/lib/asterisk/moh/ventas\nsort = alpha\n"
    assert section in text
    assert text.index("[default]") < text.index("[ventas]") < text.index("[soporte]")
    assert run(config, "moh", "add", "soporte", str(wav), "--conf", str(conf)) == 0
    assert conf.read_text().count("[soporte]") == 1


def test_moh_add_corrupt_upload_names_the_file_and_writes_nothing(
    config: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.wav"
    good.write_bytes(tone_wav(440, 8000, 1.0))
    bad = tmp_path / "broken.ogg"
    bad.write_bytes(b"OggS" + b"\0" * 200)
    assert run(config, "moh", "add", "ventas", str(good), str(bad)) == 1
    assert "broken.ogg: not a readable audio file" in capfd.readouterr().out
    assert not (config.parent / "moh" / "ventas").exists()
    assert run(config, "moh", "add", "../etc", str(good)) == 1
