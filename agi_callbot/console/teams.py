"""Teams and their hold music: ``/teams`` and ``/api/teams…``.

A team is the Asterisk queue of the same name; its hold music is the music-on-hold
class the flows give it (``transfer: {team: ventas, music: ventas}``; the team's own
name when they give none). The page lists every team the flows name and every queue
Asterisk reports over AMI (members and who is available, paused or busy; callers
waiting, the longest wait), pushed to the page as AMI events move them. Uploads go
through the same anti-aliased pipeline as ``agi-callbot moh add``
(:mod:`agi_callbot.tts.moh`), into the class folder, in every format the prompt cache
keeps; Asterisk picks them up on ``moh reload`` (through AMI when its user may run
commands, else the CLI line shown).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import shutil
import tempfile
import wave
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from agi_callbot.console.api import error
from agi_callbot.console.live import Feed
from agi_callbot.console.pages import render
from agi_callbot.console.queues import AMI_OFF, ami_client, queue_board, queue_state
from agi_callbot.console.state import CONSOLE, Console
from agi_callbot.flow.model import Transfer
from agi_callbot.tts.moh import MohError, add_music, check_team, conf_section, track_name

#: what an admin may upload (ffmpeg decodes them; pydub picks the container by name)
MUSIC_TYPES = ("mp3", "wav", "ogg", "oga", "opus", "m4a", "aac", "mp4", "flac")
MAX_MUSIC_SECONDS = 30 * 60
RELOAD_CLI = "asterisk -rx 'moh reload'"
#: renditions a browser can play once wrapped in a WAV header, best first
PLAYABLE = (("sln16", 16000), ("sln", 8000))
TEAM = "{team:[A-Za-z0-9][A-Za-z0-9_-]*}"
TRACK = "{track:[a-z0-9_][a-z0-9_-]*}"


def routes(console: Console) -> list[web.RouteDef]:
    api = console.guard.api
    feed = console_feed(console)
    return [
        web.get("/teams", console.guard.page(teams_page)),
        web.get("/api/teams", api(list_teams)),
        web.get("/api/teams/stream", api(feed.stream)),
        web.post("/api/teams/reload", api(reload_music)),
        web.post(f"/api/teams/{TEAM}/music", api(upload_music)),
        web.get(f"/api/teams/{TEAM}/music/{TRACK}", api(listen)),
        web.delete(f"/api/teams/{TEAM}/music/{TRACK}", api(remove_music)),
    ]


def console_feed(console: Console) -> Feed:
    """The live queue states, pushed to open Teams pages.

    The feed wakes when an AMI event moved the node's queue model (and once a second
    while a page is open: the longest wait grows) and sends the board only when it
    changed. Nothing is asked of Asterisk, however many pages are open.
    """
    last: dict[str, Any] = {}
    state = queue_state(console)

    async def snapshot() -> Any:
        last["queues"] = queue_board(console)
        return last["queues"]

    async def changes() -> list[tuple[str, Any]]:
        now = queue_board(console)
        if now == last.get("queues"):
            return []
        last["queues"] = now
        return [("queues", now)]

    wake = state.changed if state is not None else None
    return console.feeds.add(Feed("teams", snapshot, changes, interval=1.0, wake=wake))


# --------------------------------------------------------------------------- what exists


def teams_in(store: Any, checked: Any) -> dict[str, dict[str, Any]]:
    """Every team a valid flow transfers to: the flows naming it, its music classes
    (run in the console's worker process: ``checked`` is its loader + lint)."""
    found: dict[str, dict[str, Any]] = {}
    for name in store.names():
        try:
            text, _ = store.read(name)
        except Exception:
            continue
        flow = checked(name, text).flow
        if flow is None:
            continue
        for block in flow.blocks.values():
            spec = block.spec
            if isinstance(spec, Transfer) and spec.team and "${" not in spec.team:
                entry = found.setdefault(spec.team, {"flows": set(), "music": set()})
                entry["flows"].add(name)
                entry["music"].add(spec.music or spec.team)
    return found


def music_class(team: str, uses: dict[str, Any] | None) -> str:
    """The class an upload for ``team`` goes to: the one its flows use, else its name."""
    classes = sorted((uses or {}).get("music", ()))
    return classes[0] if len(classes) == 1 and "${" not in classes[0] else team


def tracks(folder: Path) -> list[dict[str, Any]]:
    """The class folder's tracks: one entry per file name, with the formats present."""
    by_stem: dict[str, dict[str, Any]] = {}
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    for path in entries:
        if path.name.startswith(".") or not path.suffix:
            continue
        track = by_stem.setdefault(
            path.stem, {"name": path.stem, "formats": [], "linked": False, "seconds": None}
        )
        track["formats"].append(path.suffix[1:])
        track["linked"] = track["linked"] or path.is_symlink()
        for ext, rate in PLAYABLE:
            if path.suffix[1:] == ext and track["seconds"] is None:
                with contextlib.suppress(OSError):
                    track["seconds"] = round(path.stat().st_size / (2 * rate), 1)
    return list(by_stem.values())


async def teams_board(console: Console) -> dict[str, Any]:
    uses = await console.work("flow_teams")
    queues = queue_board(console)
    moh_dir = Path(console.settings.moh_dir)
    names = set(uses) | set(queues.get("queues", {}))
    with contextlib.suppress(OSError):
        names |= {p.name for p in moh_dir.iterdir() if p.is_dir() and not p.name.startswith(".")}
    teams = []
    for team in sorted(names):
        klass = music_class(team, uses.get(team))
        folder = moh_dir / klass
        teams.append(
            {
                "name": team,
                "flows": sorted(uses.get(team, {}).get("flows", ())),
                "music_class": klass,
                "queue": queues.get("queues", {}).get(team),
                "tracks": await asyncio.to_thread(tracks, folder),
                "folder": str(folder),
                "conf_section": conf_section(klass, str(folder.resolve())),
            }
        )
    return {"ami": queues["ami"], "teams": teams, "reload_cli": RELOAD_CLI}


# --------------------------------------------------------------------------- routes


async def list_teams(request: web.Request) -> web.Response:
    return web.json_response(await teams_board(request.app[CONSOLE]))


async def _class_of(console: Console, team: str) -> str:
    check_team(team)
    uses = await console.work("flow_teams")
    return music_class(team, uses.get(team))


async def _music_folder(request: web.Request) -> Path:
    """The folder of the ``{team}`` route's hold-music class (MohError: no such team name)."""
    console = request.app[CONSOLE]
    klass = await _class_of(console, request.match_info["team"])
    return Path(console.settings.moh_dir) / klass


async def upload_music(request: web.Request) -> web.Response:
    """``multipart/form-data`` with one ``file``: converted into the team's class folder."""
    console = request.app[CONSOLE]
    try:
        klass = await _class_of(console, request.match_info["team"])
        reader = await request.multipart()
    except (MohError, AssertionError, ValueError) as exc:
        return error(str(exc) or "send the file as multipart/form-data, field 'file'", 400)
    part = await reader.next()
    while part is not None and getattr(part, "name", None) != "file":
        part = await reader.next()
    if part is None or not getattr(part, "filename", None):
        return error("send the file as multipart/form-data, field 'file'", 400)
    filename = Path(unquote(str(part.filename))).name
    ext = Path(filename).suffix.lstrip(".").lower()
    if ext not in MUSIC_TYPES:
        return error(
            f"{filename}: not a music file this console takes "
            f"(use {', '.join(t for t in MUSIC_TYPES if t not in ('oga', 'mp4'))})",
            415,
        )
    uploads = Path(console.settings.data_dir) / "console-uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(dir=uploads))
    target = workdir / f"{track_name(Path(filename))}.{ext}"
    limit = console.settings.console.max_upload_bytes
    try:
        size = 0
        with target.open("wb") as out:
            while chunk := await part.read_chunk(256 * 1024):  # type: ignore[union-attr]
                size += len(chunk)
                if size > limit:
                    return error(
                        f"{filename}: larger than {limit / 1e6:g} MB "
                        "(console.max_upload_bytes); "
                        "hold music needs far less (8 kHz mono)",
                        413,
                    )
                out.write(chunk)
        settings = console.settings
        result = await asyncio.to_thread(
            asyncio.run,
            add_music(
                klass,
                [target],
                Path(settings.moh_dir),
                settings.prompts.formats,
                max_seconds=MAX_MUSIC_SECONDS,
            ),
        )
    except MohError as exc:
        message = str(exc).replace(str(target), filename).replace(str(workdir) + "/", "")
        return error(message, 422)
    except OSError as exc:
        return error(f"cannot write the hold music: {exc.strerror or exc}", 500)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return web.json_response(
        {
            "team": request.match_info["team"],
            "music_class": klass,
            "track": target.stem,
            "files": [p.name for p in result.files],
            "conf_section": result.section,
        },
        status=201,
    )


async def listen(request: web.Request) -> web.StreamResponse:
    """A track as WAV for the browser's player (the 16 kHz rendition when there is one)."""
    try:
        folder = await _music_folder(request)
    except MohError as exc:
        return error(str(exc), 400)
    for ext, rate in PLAYABLE:
        path = folder / f"{request.match_info['track']}.{ext}"
        if path.is_file():
            data = await asyncio.to_thread(path.read_bytes)
            buffer = io.BytesIO()
            with wave.open(buffer, "wb") as out:
                out.setnchannels(1)
                out.setsampwidth(2)
                out.setframerate(rate)
                out.writeframes(data)
            response = web.Response(body=buffer.getvalue(), content_type="audio/wav")
            response.headers["Cache-Control"] = "no-store"
            return response
    return error("no such track (or none in a format a browser can play)", 404)


async def remove_music(request: web.Request) -> web.Response:
    try:
        folder = await _music_folder(request)
    except MohError as exc:
        return error(str(exc), 400)
    track = request.match_info["track"]
    removed = []
    for path in sorted(folder.glob(f"{track}.*")):
        if path.stem == track:
            try:
                path.unlink()
            except OSError as exc:
                return error(f"cannot remove {path.name}: {exc.strerror or exc}", 500)
            removed.append(path.name)
    if not removed:
        return error("no such track", 404)
    return web.json_response({"removed": removed})


async def reload_music(request: web.Request) -> web.Response:
    """``moh reload`` through AMI when its user may run commands; else the CLI line."""
    console = request.app[CONSOLE]
    client = ami_client(console)
    if client is None:
        return web.json_response({"reloaded": False, "reason": AMI_OFF, "cli": RELOAD_CLI})
    try:
        output = await client.command("moh reload")
    except Exception as exc:  # AmiError: permission denied, not logged in, timeout
        reason = str(exc)
        if "Permission denied" in reason:
            reason += " (the AMI user needs write = command)"
        return web.json_response({"reloaded": False, "reason": reason, "cli": RELOAD_CLI})
    return web.json_response({"reloaded": True, "output": output})


async def teams_page(request: web.Request) -> web.Response:
    board = await teams_board(request.app[CONSOLE])
    return render(request, "teams.html", board=board, boot=boot_json(board))


def boot_json(data: Any) -> str:
    """Data for a page's script, safe inside ``<script type="application/json">``."""
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
