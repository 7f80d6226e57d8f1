"""``agi-callbot prompts build|list|prune`` and ``agi-callbot moh add``."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from agi_callbot.cli import command
from agi_callbot.config import Settings, load_settings, parse_duration
from agi_callbot.flow.prompts import prompts_of
from agi_callbot.tts.build import BuildSummary, build, flows_by_key, stale_entries
from agi_callbot.tts.moh import add_music, update_conf
from agi_callbot.tts.service import PromptService


def register(subparsers: Any) -> None:
    prompts = command(
        subparsers,
        "prompts",
        "the prompt cache: render every prompt ahead, list it, prune it",
        """\
Every text a flow speaks becomes audio once (recording, TTS engine, sox) and is
cached in data_dir/prompts in the formats Asterisk plays without transcoding. Calls
render what is missing on the fly; `build` renders everything ahead (after an
edit, before busy hours) and, for prompts.delivery deployed, copies the files to
where Asterisk's sounds live.""",
        """\
agi-callbot --config callbot.yaml prompts build
agi-callbot --config callbot.yaml prompts list soporte
agi-callbot --config callbot.yaml prompts prune --dry-run""",
    )
    actions = prompts.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = command(
        actions,
        "build",
        "render every prompt of the flows, in every language they have",
        "Render each text of the flows (all languages) into the cache, so no caller waits "
        "for a first render. Texts with ${variables} are rendered per call and skipped. "
        "With --output, also copy the files there, named as prompts.delivery deployed "
        "expects (<deployed_prefix>/<key>): copy that folder into Asterisk's sounds folder.",
        """\
agi-callbot --config callbot.yaml prompts build
agi-callbot --config callbot.yaml prompts build soporte support
agi-callbot --config callbot.yaml prompts build --output /tmp/callbot-sounds""",
    )
    p.add_argument("flows", nargs="*", metavar="FLOW", help="flow names or files (default: all)")
    p.add_argument(
        "--output", type=Path, help="also copy the files here (for prompts.delivery deployed)"
    )
    p.set_defaults(func=cmd_build)

    p = command(
        actions,
        "list",
        "what is cached, and which flows and blocks use it",
        "List the cached prompts: key, formats on disk, size, the text, and the flow and "
        "prompt id (the name a recording of it would have) that use it.",
        """\
agi-callbot --config callbot.yaml prompts list
agi-callbot --config callbot.yaml prompts list soporte""",
    )
    p.add_argument("flows", nargs="*", metavar="FLOW", help="only these flows (default: all)")
    p.set_defaults(func=cmd_list)

    p = command(
        actions,
        "prune",
        "delete cached prompts no flow uses any more",
        "Delete cached prompts that no current flow text produces (an edited or removed "
        "text), keeping anything rendered recently (a call may still be playing it, or "
        "another node may use it).",
        """\
agi-callbot --config callbot.yaml prompts prune --dry-run
agi-callbot --config callbot.yaml prompts prune --older-than 30d""",
    )
    p.add_argument(
        "--older-than",
        type=_duration,
        default="168h",
        help="keep anything rendered more recently (default: 168h, a week)",
    )
    p.add_argument("--dry-run", action="store_true", help="only show what would go")
    p.set_defaults(func=cmd_prune)

    moh = command(
        subparsers,
        "moh",
        "hold music per team: your MP3/WAV files into an Asterisk music-on-hold class",
        "A team's callers wait with the team's own music: a musiconhold.conf class of the "
        "same name, playing the files of <moh_dir>/<team>/ (see transfer's music in "
        "docs/flows.md).",
        """\
agi-callbot --config callbot.yaml moh add ventas jingle.mp3 promo.wav""",
    )
    moh_actions = moh.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = command(
        moh_actions,
        "add",
        "convert MP3/WAV/OGG files into a team's MOH class",
        "Convert the files (mono, peak-normalised, silence trimmed so the loop has no gap) "
        "into every format of prompts.formats under <moh_dir>/<TEAM>/, and print the "
        "musiconhold.conf section for the class (or write it into --conf). Then reload "
        "Asterisk's music on hold (asterisk -rx 'moh reload').",
        """\
agi-callbot --config callbot.yaml moh add ventas jingle.mp3 promo.wav
agi-callbot moh add soporte calm.ogg --conf /etc/asterisk/musiconhold.conf
agi-callbot moh add ventas a.mp3 --directory /var/lib/asterisk/moh/callbot/ventas""",
    )
    p.add_argument("team", metavar="TEAM", help="the team (= Asterisk queue and MOH class)")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="MP3, WAV or OGG files")
    p.add_argument("--conf", type=Path, help="musiconhold.conf to update (default: print)")
    p.add_argument("--directory", help="the folder as Asterisk sees it (default: moh_dir/TEAM)")
    p.set_defaults(func=cmd_moh_add)


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def cmd_build(args: argparse.Namespace) -> int:
    settings = _settings(args)
    service = PromptService.from_settings(settings)
    prompts = prompts_of(settings, args.flows)
    formats = list(dict.fromkeys([*service.formats, settings.prompts.http_format]))
    bar = ProgressBar(sys.stderr)
    started = time.monotonic()
    summary = asyncio.run(build(service, prompts, formats, output=args.output, progress=bar))
    bar.close()
    for line in summary.warnings:
        print(f"warning: {line}", file=sys.stderr)
    for line in summary.errors:
        print(f"error: {line}", file=sys.stderr)
    print(
        f"{summary.total} prompts in {len(formats)} formats ({', '.join(formats)}): "
        f"{summary.hits} hits, {summary.misses} misses, {summary.failures} failures"
        + (f", {summary.dynamic} with variables (rendered during calls)" if summary.dynamic else "")
        + f" in {time.monotonic() - started:.1f} s"
    )
    if args.output is not None:
        prefix = settings.prompts.deployed_prefix
        print(f"copy {args.output}/ to <asterisk sounds>/{prefix}/ (prompts.delivery: deployed)")
    return 1 if summary.failures else 0


def cmd_list(args: argparse.Namespace) -> int:
    settings = _settings(args)
    service = PromptService(settings)
    users = flows_by_key(service, prompts_of(settings, args.flows))
    if not service.cache.root.is_dir():
        print(f"no prompt cache at {service.cache.root}")
        return 0
    count = size = 0
    for entry in service.cache.entries():
        if args.flows and entry.key not in users:
            continue
        count += 1
        size += entry.size
        meta = entry.meta
        text = str(meta.get("text") or meta.get("file") or "")
        flows = ",".join(sorted(users.get(entry.key, ()))) or "-"
        print(
            f"{entry.key[:16]}  {meta.get('engine', '?'):9}  {meta.get('language', '?'):5}  "
            f"{'/'.join(entry.formats):24}  {flows:16}  {_preview(text)}"
        )
    print(f"{count} prompts, {size / 1e6:.1f} MB in {service.cache.root}")
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    settings = _settings(args)
    service = PromptService(settings)
    if not service.cache.root.is_dir():
        print(f"no prompt cache at {service.cache.root}")
        return 0
    used = flows_by_key(service, prompts_of(settings, []))
    stale = stale_entries(service.cache.entries(), used, args.older_than)
    freed = 0
    for entry in stale:
        print(
            f"{'would remove' if args.dry_run else 'removed'} {entry.key[:16]}  "
            f"{_preview(str(entry.meta.get('text') or entry.meta.get('file') or ''))}"
        )
        freed += entry.size if args.dry_run else service.cache.remove(entry.key)
    temps = 0 if args.dry_run else service.cache.remove_stale_temps(3600.0)
    verb = "would free" if args.dry_run else "freed"
    print(
        f"{len(stale)} stale prompts, {verb} {freed / 1e6:.1f} MB"
        + (f"; {temps} leftover temporary files removed" if temps else "")
    )
    return 0


def cmd_moh_add(args: argparse.Namespace) -> int:
    settings = _settings(args)
    result = asyncio.run(
        add_music(
            args.team,
            args.files,
            settings.moh_dir,
            settings.prompts.formats,
            directory=args.directory,
        )
    )
    print(f"{len(args.files)} files → {result.folder} ({', '.join(settings.prompts.formats)})")
    if args.conf is not None:
        update_conf(args.conf, args.team, result.section)
        print(f"updated [{args.team}] in {args.conf}; reload with: asterisk -rx 'moh reload'")
    else:
        print("add to musiconhold.conf:\n")
        print(result.section, end="")
    return 0


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _preview(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class ProgressBar:
    """``[#####-----] 12/40  hits 3  misses 9  failures 0`` on one line, redrawn in place."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self._drawn = False

    def __call__(self, summary: BuildSummary) -> None:
        total = max(summary.total, 1)
        filled = self.width * summary.done // total
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(
            f"\r[{bar}] {summary.done}/{summary.total}  hits {summary.hits}  "
            f"misses {summary.misses}  failures {summary.failures}"
        )
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
