"""``agi-callbot doctor``: check a deployment from the callbot's side, print one table.

Each row is a check an admin can act on: the settings load, the flows validate, the
data folder (call records, outbox, prompt cache) is writable, Asterisk's user can read
the prompts (``prompts.delivery: local`` with Asterisk on this host), sox and espeak-ng run,
AMI answers and accepts the login, every queue and music-on-hold class the flows
name exists on the Asterisk, and each message channel is configured or in dry-run.
Exit status 1 when any row failed, so it fits a deploy script or a container probe.

Queues are asked over AMI (``QueueStatus``: a queue exists iff ``QueueParams``
comes back — an unknown queue is not an AMI error). MOH classes need the CLI command
``moh show classes``, which the AMI user may only run with ``write = command``;
without it the row says "not checked". ``--asterisk-conf DIR`` also checks a copy of
the Asterisk configuration files without AMI: queues.conf, musiconhold.conf, and the
PJSIP endpoints of agent transfers in pjsip.conf.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from agi_callbot.asterisk.ami import AmiActionError, AmiClient, AmiError
from agi_callbot.asterisk.conf import parse
from agi_callbot.asterisk.teams import Teams
from agi_callbot.cli import command
from agi_callbot.config import Settings, load_settings
from agi_callbot.config import secret as read_secret
from agi_callbot.errors import CallbotError, ConfigError
from agi_callbot.flow.loader import FlowLibrary
from agi_callbot.flow.model import Transfer
from agi_callbot.gateways import build_gateways
from agi_callbot.tts import access
from agi_callbot.tts.engines import ENGINES
from agi_callbot.tts.probe import check_providers, node_breakers

OK, WARN, FAIL, SKIP = "ok", "warn", "FAIL", "skip"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str


@dataclass
class FlowRefs:
    """What the flows name on the Asterisk side."""

    names: list[str]
    teams: set[str]
    music: set[str]
    agents: set[str] = field(default_factory=set)  # literal PJSIP/<endpoint> dial strings
    voices: dict[str, set[str]] = field(default_factory=dict)  # voice engine → flows


def register(subparsers: Any) -> None:
    p = command(
        subparsers,
        "doctor",
        "check a deployment: settings, flows, folders, tools, gateways, AMI, queues, MOH",
        """\
Check this node's deployment and print one table, one row per thing an admin can fix:
the settings load; the flows validate; data_dir is writable; Asterisk's user can read
the cached prompts (prompts.delivery local, Asterisk on this host); sox and
espeak-ng run; each message channel's provider (or dry-run); the AMI login; every
queue and music-on-hold class the flows name exists on the Asterisk (over AMI), and
with --asterisk-conf, in a copy of its configuration files. Exit status 1 when a row
failed: fit for a deploy script or a container probe.""",
        """\
agi-callbot --config /etc/agi-callbot/callbot.yaml doctor
agi-callbot --config callbot.yaml doctor --asterisk-conf /etc/asterisk
agi-callbot --config callbot.yaml doctor --json | jq 'select(.status == "FAIL")'""",
    )
    p.add_argument(
        "--timeout", type=float, default=5.0, help="seconds to wait for AMI (default: 5)"
    )
    p.add_argument(
        "--asterisk-conf",
        type=Path,
        metavar="DIR",
        help="also check queues.conf, musiconhold.conf and pjsip.conf in this folder",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per check")
    p.add_argument(
        "--no-tts-probe",
        dest="tts_probe",
        action="store_false",
        help="do not ask the TTS providers for a one-word test synthesis (default: ask)",
    )
    p.set_defaults(func=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        checks = [Check("config", FAIL, str(exc))]
    else:
        where = str(settings.source) if settings.source else "embedded defaults + environment"
        checks = [Check("config", OK, where)]
        checks += asyncio.run(
            diagnose(
                settings,
                timeout=args.timeout,
                asterisk_conf=args.asterisk_conf,
                tts_probe=args.tts_probe,
            )
        )
    report(checks, sys.stdout, as_json=args.json)
    return 1 if any(c.status == FAIL for c in checks) else 0


def report(checks: list[Check], out: TextIO, *, as_json: bool = False) -> None:
    if as_json:
        for check in checks:
            out.write(json.dumps(asdict(check), ensure_ascii=False) + "\n")
        return
    width = max(len(c.name) for c in checks)
    out.write(f"{'CHECK'.ljust(width)}  STATUS  DETAIL\n")
    for check in checks:
        out.write(f"{check.name.ljust(width)}  {check.status.ljust(6)}  {check.detail}\n")
    failed = sum(1 for c in checks if c.status == FAIL)
    out.write(f"\n{failed} problem(s) found.\n" if failed else "\nno problems found.\n")


async def diagnose(
    settings: Settings,
    *,
    timeout: float = 5.0,
    asterisk_conf: Path | None = None,
    tts_probe: bool = True,
) -> list[Check]:
    """Every check after the settings loaded, in table order."""
    flows_check, refs = check_flows(settings)
    checks = [flows_check, check_data_dir(settings), *check_prompt_access(settings)]
    checks += check_tools(settings)
    checks += await check_tts(settings, refs, probe=tts_probe)
    checks += check_moh_dir(settings, refs)
    checks += check_gateways(settings)
    checks += await check_asterisk(settings, refs, timeout)
    if asterisk_conf is not None:
        checks += check_conf_files(asterisk_conf, refs)
    return checks


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


async def check_asterisk(settings: Settings, refs: FlowRefs | None, timeout: float) -> list[Check]:
    ami = settings.ami
    if not ami.enabled:
        return [
            Check(
                "ami",
                SKIP,
                "AMI off (ami.enabled: false): transfers go ahead without asking who is free; "
                "queues and MOH classes on Asterisk not checked",
            )
        ]
    password = read_secret(ami.secret_env)
    if password is None:
        return [
            Check(
                "ami",
                FAIL,
                f"environment variable {ami.secret_env} (ami.secret_env) "
                "is unset: the AMI login cannot work",
            )
        ]
    client = AmiClient(
        ami.host,
        ami.port,
        ami.username,
        password,
        timeout=ami.timeout,
        backoff_max=max(timeout, 0.5),
    )
    await client.start()
    try:
        if not await client.wait_ready(timeout):
            why = client.last_error or f"no login within {timeout:g}s"
            return [Check("ami", FAIL, f"{ami.username}@{ami.host}:{ami.port}: {why}")]
        checks = [Check("ami", OK, f"logged in as {ami.username}@{ami.host}:{ami.port}")]
        if refs is not None:
            checks += await _queues(Teams(client), refs)
            checks.append(await _classes(client, refs))
        return checks
    finally:
        await client.aclose()


async def _queues(teams: Teams, refs: FlowRefs) -> list[Check]:
    checks = []
    for team in sorted(refs.teams):
        found = await teams.availability(team)
        if found is None:
            checks.append(Check(f"queue {team}", FAIL, "AMI did not answer QueueStatus in time"))
        elif not found.exists:
            checks.append(
                Check(
                    f"queue {team}",
                    FAIL,
                    "no such queue on Asterisk (queues.conf), but a flow uses it",
                )
            )
        else:
            status = OK if found.members else WARN
            checks.append(
                Check(
                    f"queue {team}",
                    status,
                    f"{found.members} logged in, {found.available} available, "
                    f"{found.paused} paused, {found.callers} waiting",
                )
            )
    return checks


async def _classes(client: AmiClient, refs: FlowRefs) -> Check:
    try:
        lines = await client.command("moh show classes")
    except AmiActionError as exc:
        return Check(
            "moh classes", SKIP, f"not checked: {exc} (the AMI user needs write = command)"
        )
    except AmiError as exc:
        return Check("moh classes", FAIL, str(exc))
    known = {line.split(":", 1)[1].strip() for line in lines if line.startswith("Class:")}
    missing = sorted(refs.music - known)
    if missing:
        return Check(
            "moh classes",
            FAIL,
            f"missing on Asterisk: {', '.join(missing)} (Queue m() would play default)",
        )
    return Check("moh classes", OK, ", ".join(sorted(refs.music)) or "none used")


def check_conf_files(folder: Path, refs: FlowRefs | None) -> list[Check]:
    """Offline: the flows' teams and classes in a copy of the Asterisk config files."""
    if refs is None:
        return []
    checks = []
    for name, wanted, what in (
        ("queues.conf", refs.teams, "queues"),
        ("musiconhold.conf", refs.music, "classes"),
    ):
        try:
            conf = parse(folder / name)
        except ConfigError as exc:
            checks.append(Check(name, FAIL, str(exc)))
            continue
        missing = sorted(wanted - set(conf.names()))
        if missing:
            checks.append(Check(name, FAIL, f"{what} missing: {', '.join(missing)}"))
        else:
            checks.append(Check(name, OK, f"{what}: {', '.join(sorted(wanted)) or 'none used'}"))
    if refs.agents and (folder / "pjsip.conf").is_file():
        try:
            pjsip = parse(folder / "pjsip.conf")
        except ConfigError as exc:
            return [*checks, Check("pjsip.conf", FAIL, str(exc))]
        endpoints = {c.name for c in pjsip.sections() if c.get("type") == "endpoint"}
        missing = sorted(refs.agents - endpoints)
        detail = ", ".join(f"PJSIP/{a}" for a in (missing or sorted(refs.agents)))
        checks.append(
            Check(
                "pjsip.conf",
                FAIL if missing else OK,
                f"agents missing: {detail}" if missing else f"agents: {detail}",
            )
        )
    return checks
