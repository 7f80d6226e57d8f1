"""The prompts of a flow: listen, (re-)render, and replace one with a recording.

Each spoken text of the saved flow (the same list as ``agi-callbot prompts list``) with
its prompt id, whether it is in the prompt cache, and whether an admin's recording
replaces the synthesized voice. A recording is uploaded as any audio file ffmpeg reads
(mp3, wav, ogg, m4a, flac…), checked by decoding it, and kept as
``<tts.recordings_dir>/<language>/<prompt id>.<ext>``, where the prompt service looks
first; re-rendering then makes the Asterisk formats from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web

from agi_callbot.console.state import CONSOLE, FLOW_API, Console
from agi_callbot.console.store import StoreError
from agi_callbot.errors import CallbotError, PromptError
from agi_callbot.flow.prompts import FlowPrompt
from agi_callbot.tts.audio import load_upload
from agi_callbot.tts.service import PromptService

_PROMPT_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,120}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?")
AUDIO_EXTENSIONS = frozenset({"mp3", "wav", "ogg", "oga", "opus", "m4a", "aac", "flac", "gsm"})


def routes(console: Console) -> list[web.RouteDef]:
    api = console.guard.api
    return [
        web.get(f"{FLOW_API}/prompts", api(list_prompts)),
        web.post(f"{FLOW_API}/prompts/render", api(render_prompt)),
        web.post(f"{FLOW_API}/prompts/recording", api(upload_recording)),
        web.delete(f"{FLOW_API}/prompts/recording", api(delete_recording)),
    ]


def _service(console: Console) -> PromptService:
    """The node's prompt service inside ``serve``; the console's own one otherwise."""
    services = console.services
    prompts = getattr(services, "prompts", None)
    if isinstance(prompts, PromptService):
        return prompts
    if console.own_prompts is None:
        console.own_prompts = PromptService.from_settings(console.settings)
    return console.own_prompts


async def _prompts(console: Console, name: str) -> list[FlowPrompt]:
    """The spoken texts of saved flow ``name``, read in the console's worker process."""
    prompts: list[FlowPrompt] = await console.work("prompts", name)
    return prompts


def _recording(console: Console, language: str, prompt_id: str) -> Path | None:
    folder = Path(console.settings.tts.recordings_dir) / language
    if not folder.is_dir():
        return None
    return next(iter(sorted(folder.glob(f"{glob_escape(prompt_id)}.*"))), None)


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]])", r"[\1]", text)


def describe(console: Console, prompt: FlowPrompt) -> dict[str, Any]:
    service = _service(console)
    keys = service.candidate_keys(prompt.text, prompt.prompt_id, prompt.language, prompt.voice)
    cached = next((k for k in keys if service.cache.lookup(k, service.primary)), None)
    recording = _recording(console, prompt.language, prompt.prompt_id)
    return {
        "prompt_id": prompt.prompt_id,
        "block": prompt.block,
        "key": prompt.key,
        "text": prompt.text,
        "language": prompt.language,
        "dynamic": prompt.dynamic,
        "recording": recording.name if recording else None,
        "rendered": cached is not None,
        "audio": f"/api/prompts/{cached}.wav" if cached else None,
    }


async def _find(console: Console, name: str, data: dict[str, Any]) -> FlowPrompt:
    prompt_id, language = str(data.get("prompt_id", "")), str(data.get("language", ""))
    for prompt in await _prompts(console, name):
        if prompt.prompt_id == prompt_id and prompt.language == language:
            return prompt
    raise StoreError(f"flow {name!r} has no prompt {prompt_id!r} in {language!r}")


async def list_prompts(request: web.Request) -> web.Response:
    from agi_callbot.console.api import error, name_of

    console = request.app[CONSOLE]
    try:
        prompts = await _prompts(console, name_of(request))
        out = [describe(console, p) for p in prompts]
    except (StoreError, CallbotError) as exc:
        return error(str(exc), getattr(exc, "status", 400))
    return web.json_response({"prompts": out})


async def render_prompt(request: web.Request) -> web.Response:
    """``{"prompt_id", "language"}``: render it now (a recording wins over synthesis)."""
    from agi_callbot.console.api import body, error, name_of

    console = request.app[CONSOLE]
    data = await body(request)
    try:
        prompt = await _find(console, name_of(request), data)
        if prompt.dynamic:
            return error("this prompt has variables: it is rendered during each call", 400)
        service = _service(console)
        await service.render(
            prompt.text, prompt_id=prompt.prompt_id, language=prompt.language, voice=prompt.voice
        )
    except StoreError as exc:
        return error(str(exc), exc.status)
    except PromptError as exc:
        return error(f"the prompt could not be rendered: {exc}", 502)
    return web.json_response(describe(console, prompt))


async def upload_recording(request: web.Request) -> web.Response:
    """multipart ``prompt_id``, ``language``, ``file``: an admin's recording of a prompt."""
    from agi_callbot.console.api import error, name_of

    console = request.app[CONSOLE]
    limit = console.settings.console.max_upload_bytes
    if request.content_length and request.content_length > limit + 65536:
        return error(f"the file is larger than {limit // 1_000_000} MB", 413)
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError):
        return error("send the recording as multipart/form-data (field 'file')", 400)
    fields: dict[str, str] = {}
    upload: Path | None = None
    suffix = ""
    folder = Path(tempfile.mkdtemp(prefix="callbot-upload-"))
    try:
        while (part := await reader.next()) is not None:
            if part.name == "file":  # type: ignore[union-attr]
                suffix = Path(part.filename or "").suffix.lower().lstrip(".")  # type: ignore[union-attr]
                if suffix not in AUDIO_EXTENSIONS:
                    return error(
                        f"not an audio file name (.{suffix or '?'}): use "
                        + ", ".join(sorted(AUDIO_EXTENSIONS)),
                        400,
                    )
                upload = folder / f"upload.{suffix}"
                size = 0
                with upload.open("wb") as out:
                    while chunk := await part.read_chunk(65536):  # type: ignore[union-attr]
                        size += len(chunk)
                        if size > limit:
                            return error(f"the file is larger than {limit // 1_000_000} MB", 413)
                        out.write(chunk)
            elif part.name in ("prompt_id", "language"):  # type: ignore[union-attr]
                fields[str(part.name)] = (await part.text())[:200]  # type: ignore[union-attr]
        if upload is None:
            return error("no file in the upload (field 'file')", 400)
        try:
            prompt = await _find(console, name_of(request), fields)
        except StoreError as exc:
            return error(str(exc), exc.status)
        try:
            await asyncio.to_thread(load_upload, upload)
        except PromptError:
            return error(
                "this file is not audio that can be read (ffmpeg could not decode it)", 400
            )
        target_dir = Path(console.settings.tts.recordings_dir) / prompt.language
        try:
            target_dir.mkdir(parents=True, exist_ok=True)
            old = _recording(console, prompt.language, prompt.prompt_id)
            target = target_dir / f"{prompt.prompt_id}.{suffix}"
            shutil.move(upload, target)
            if old is not None and old != target:
                old.unlink()
        except OSError as exc:
            return error(f"cannot keep the recording in {target_dir}: {exc.strerror or exc}", 503)
        service = _service(console)
        try:
            await service.render(
                prompt.text, prompt_id=prompt.prompt_id, language=prompt.language,
                voice=prompt.voice,
            )  # fmt: skip
        except PromptError as exc:
            return error(f"the recording is kept but could not be converted: {exc}", 502)
        return web.json_response(describe(console, prompt))
    finally:
        for leftover in folder.glob("*"):
            with contextlib.suppress(OSError):
                leftover.unlink()
        with contextlib.suppress(OSError):
            folder.rmdir()


async def delete_recording(request: web.Request) -> web.Response:
    """``?prompt_id=…&language=…``: back to the synthesized voice."""
    from agi_callbot.console.api import error, name_of

    console = request.app[CONSOLE]
    try:
        prompt = await _find(console, name_of(request), dict(request.query))
    except StoreError as exc:
        return error(str(exc), exc.status)
    recording = _recording(console, prompt.language, prompt.prompt_id)
    if recording is not None:
        try:
            recording.unlink()
        except OSError as exc:
            return error(f"cannot remove {recording.name}: {exc.strerror or exc}", 503)
    return web.json_response(describe(console, prompt))
