"""The doctor's checks on this node: flows, the data folder, Asterisk's access to the
prompts, sox and espeak-ng, TTS engines and providers, hold-music files, gateways."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from agi_callbot.cli.doctor.report import FAIL, OK, SKIP, WARN, Check
from agi_callbot.config import Settings
from agi_callbot.errors import CallbotError
from agi_callbot.flow.loader import FlowLibrary
from agi_callbot.flow.model import Transfer
from agi_callbot.gateways import build_gateways
from agi_callbot.tts import access
from agi_callbot.tts.engines import ENGINES
from agi_callbot.tts.probe import check_providers, node_breakers


@dataclass
class FlowRefs:
    """What the flows name on the Asterisk side."""

    names: list[str]
    teams: set[str]
    music: set[str]
    agents: set[str] = field(default_factory=set)  # literal PJSIP/<endpoint> dial strings
    voices: dict[str, set[str]] = field(default_factory=dict)  # voice engine → flows


def check_flows(settings: Settings) -> tuple[Check, FlowRefs | None]:
    folder = settings.flows_dir
    if not folder.is_dir():
        return Check("flows", FAIL, f"no flows folder {folder} (flows_dir)"), None
    library = FlowLibrary.from_settings(settings)
    names = library.names()
    if not names:
        return Check("flows", FAIL, f"no *.yaml flow in {folder}"), None
    errors = library.load_all()
    if errors:
        first = next(iter(errors.values()))
        more = f" (+{len(errors) - 1} more flows)" if len(errors) > 1 else ""
        return Check("flows", FAIL, f"{first}{more}"), None
    refs = FlowRefs(names, set(), set())
    for name in names:
        flow = library.get(name)
        for voice in (flow.voice, *(b.voice for b in flow.blocks.values())):
            if voice and voice.get("engine"):
                refs.voices.setdefault(str(voice["engine"]), set()).add(name)
        for block in flow.blocks.values():
            if not isinstance(block.spec, Transfer):
                continue
            if block.spec.team:
                refs.teams.add(block.spec.team)
                refs.music.add(block.spec.music or block.spec.team)
            agent = block.spec.agent or ""
            if agent.startswith("PJSIP/") and "${" not in agent:
                refs.agents.add(agent.split("/")[1].split("&")[0])
    return Check("flows", OK, f"{len(names)} valid: {', '.join(names)}"), refs


def check_data_dir(settings: Settings) -> Check:
    """Call records, the outbox and the prompt cache all live under data_dir."""
    target = settings.prompts_dir
    try:
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Check("data dir", FAIL, f"{target} is not writable: {exc.strerror or exc}")
    return Check("data dir", OK, f"{settings.data_dir} writable (prompt cache in prompts/)")


def check_prompt_access(
    settings: Settings, account: access.Account | bool | None = False
) -> list[Check]:
    """Can Asterisk's user read the cached prompts? (``account``: found here if not given)"""
    if settings.prompts.delivery != "local":
        return []
    if account is False:
        account = access.asterisk_account()
    ok, detail = access.verdict(settings.prompts_dir, account or None)
    status = {True: OK, False: FAIL, None: SKIP}[ok]
    return [Check("prompt access", status, detail)]


def check_tools(settings: Settings) -> list[Check]:
    wanted = [("sox", "-V1 --version", "the audio pipeline")]
    if "espeak-ng" in settings.tts.engines:
        wanted.append(("espeak-ng", "--version", "the tts engine in tts.engines"))
    checks = []
    for program, flag, why in wanted:
        path = shutil.which(program)
        if path is None:
            checks.append(Check(program, FAIL, f"not found on PATH (needed for {why})"))
            continue
        try:
            done = subprocess.run([path, *flag.split()], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired) as exc:
            checks.append(Check(program, FAIL, f"{path} does not run: {exc}"))
            continue
        version = (done.stdout or done.stderr).strip().splitlines()
        checks.append(Check(program, OK, version[0] if version else path))
    return checks


async def check_tts(
    settings: Settings, refs: FlowRefs | None = None, *, probe: bool = True
) -> list[Check]:
    """Engines the flows name, each neural provider (one test word per voice), and the
    running node's breakers."""
    checks = []
    known = {*ENGINES, "files", *settings.tts.providers}
    unknown = {e: f for e, f in (refs.voices if refs else {}).items() if e not in known}
    if unknown:
        detail = "; ".join(f"{e!r} in {', '.join(sorted(f))}" for e, f in sorted(unknown.items()))
        checks.append(
            Check("tts engines", FAIL, f"flows name an engine not declared: {detail} "
                  f"(known: {', '.join(sorted(known))}; providers go under tts.providers)")
        )  # fmt: skip
    if probe:
        for result in await check_providers(settings, set(refs.voices) if refs else None):
            status = OK if result.ok else WARN if result.warning else FAIL
            checks.append(Check(f"tts {result.name}", status, result.detail))
    elif settings.tts.providers:
        names = ", ".join(settings.tts.providers)
        checks.append(Check("tts providers", SKIP, f"{names}: not probed (--no-tts-probe)"))
    breakers = await node_breakers(settings) if settings.tts.providers else None
    for name, state in sorted((breakers or {}).items()):
        if name in settings.tts.providers:
            status = OK if state == "closed" else WARN
            detail = f"running node: circuit breaker {state}"
            if state != "closed":
                detail += " (callers hear the next engine of tts.engines)"
            checks.append(Check(f"tts {name} breaker", status, detail))
    return checks


def check_moh_dir(settings: Settings, refs: FlowRefs | None) -> list[Check]:
    if refs is None or not refs.music:
        return []
    missing = [c for c in sorted(refs.music) if not _has_audio(settings.moh_dir / c)]
    if missing:
        return [
            Check(
                "moh files",
                WARN,
                f"no music in {settings.moh_dir}/<class> for {', '.join(missing)} "
                "(fine if Asterisk keeps its own copy)",
            )
        ]
    return [Check("moh files", OK, f"{settings.moh_dir}: {', '.join(sorted(refs.music))}")]


def _has_audio(folder: Path) -> bool:
    return folder.is_dir() and any(p.is_file() for p in folder.iterdir())


def check_gateways(settings: Settings) -> list[Check]:
    try:
        gateways = build_gateways(settings)
    except CallbotError as exc:
        return [Check("gateways", FAIL, str(exc))]
    checks = []
    for channel, gateway in gateways.items():
        if gateway.provider == "dry-run":
            checks.append(Check(f"gateway {channel}", WARN, "dry-run: logged, never sent"))
        else:
            checks.append(Check(f"gateway {channel}", OK, f"provider {gateway.provider}"))
    return checks
