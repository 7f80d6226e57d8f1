"""The doctor's checks on the Asterisk side: the AMI login, every queue and hold-music
class the flows name, and (offline) a copy of Asterisk's configuration files."""

from __future__ import annotations

from pathlib import Path

from agi_callbot.asterisk.ami import AmiActionError, AmiClient, AmiError
from agi_callbot.asterisk.conf import parse
from agi_callbot.asterisk.teams import Teams
from agi_callbot.cli.doctor.node import FlowRefs
from agi_callbot.cli.doctor.report import FAIL, OK, SKIP, WARN, Check
from agi_callbot.config import Settings
from agi_callbot.config import secret as read_secret
from agi_callbot.errors import ConfigError


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
