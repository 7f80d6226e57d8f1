"""Read Asterisk configuration files the way Asterisk does, for checks, not for Asterisk.

``doctor --asterisk-conf DIR`` and the kit's tests use it to prove that what the
dialplan names exists: queues, music-on-hold classes, contexts, labels, flows.
It follows Asterisk's config syntax (``main/config.c``): ``[category]``, templates
``[name](!)``, inheritance ``[name](tpl,tpl2)`` (the templates' lines first),
additions ``[name](+)``, ``key = value`` and ``key => value``, comments from ``;`` to
the end of the line (``\\;`` is a literal semicolon) and block comments ``;-- … --;``,
``#include`` / ``#tryinclude`` relative to the including file's folder. On top of that
it reads a dialplan: ``exten => name,priority(label),App(args)`` and ``same =>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from agi_callbot.errors import ConfigError

_CATEGORY = re.compile(r"^\[([^\]]+)\]\s*(?:\(([^)]*)\))?\s*$")
_INCLUDE = re.compile(r'^#(try)?include\s+"?([^"]+?)"?\s*$')


@dataclass(frozen=True)
class Entry:
    key: str
    value: str
    file: Path
    line: int
    arrow: bool = False  # written ``=>`` (an object: exten, member…)


@dataclass
class Category:
    name: str
    file: Path
    line: int
    template: bool = False
    bases: tuple[str, ...] = ()
    entries: list[Entry] = field(default_factory=list)

    def values(self, key: str) -> list[str]:
        return [e.value for e in self.entries if e.key.lower() == key.lower()]

    def get(self, key: str, default: str | None = None) -> str | None:
        """The last value of ``key`` (a later line overrides an inherited one)."""
        found = self.values(key)
        return found[-1] if found else default


@dataclass
class ConfigFile:
    path: Path
    categories: list[Category] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)  # this file and every file it included

    def sections(self) -> list[Category]:
        """Real categories (templates excluded), inherited lines included."""
        return [c for c in self.categories if not c.template]

    def section(self, name: str) -> Category | None:
        """The category ``name`` (pjsip.conf may hold several: the first one)."""
        return next((c for c in self.sections() if c.name == name), None)

    def names(self) -> list[str]:
        return [c.name for c in self.sections()]


def parse(path: Path) -> ConfigFile:
    """Parse ``path`` with its includes; ConfigError with ``file:line`` on bad syntax."""
    conf = ConfigFile(Path(path))
    _read(Path(path), conf, current=[None], seen=set(), optional=False)
    return conf


def _read(
    path: Path, conf: ConfigFile, current: list[Category | None], seen: set[Path], optional: bool
) -> None:
    resolved = path.resolve()
    if resolved in seen:
        raise ConfigError(f"{path}: included twice (an #include loop?)")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if optional:
            return
        raise ConfigError(f"{path}: no such file") from None
    seen.add(resolved)
    conf.files.append(path)
    for number, line in _lines(text):
        where = f"{path}:{number}"
        include = _INCLUDE.match(line)
        if include:
            _read(path.parent / include.group(2), conf, current, seen, bool(include.group(1)))
            continue
        if line.startswith("#"):
            continue  # #exec and friends: nothing to check here
        header = _CATEGORY.match(line)
        if header:
            current[0] = _category(header, path, number, conf, where)
            continue
        key, arrow, value = _assignment(line, where)
        if current[0] is None:
            raise ConfigError(f"{where}: {key!r} outside of any [category]")
        current[0].entries.append(Entry(key, value, path, number, arrow))


def _category(
    match: re.Match[str], path: Path, number: int, conf: ConfigFile, where: str
) -> Category:
    name = match.group(1).strip()
    options = [o.strip() for o in (match.group(2) or "").split(",") if o.strip()]
    if "+" in options:
        earlier = [c for c in conf.categories if c.name == name]
        if not earlier:
            raise ConfigError(f"{where}: [{name}](+) adds to a category not defined before")
        return earlier[-1]
    category = Category(name, path, number, template="!" in options)
    bases = tuple(o for o in options if o != "!")
    for base in bases:
        template = next((c for c in reversed(conf.categories) if c.name == base), None)
        if template is None:
            raise ConfigError(f"{where}: [{name}] inherits from unknown template {base!r}")
        category.entries.extend(template.entries)
    category.bases = bases
    conf.categories.append(category)
    return category


def _assignment(line: str, where: str) -> tuple[str, bool, str]:
    match = re.match(r"^([^=]+?)\s*(=>|=)\s*(.*)$", line)
    if not match:
        raise ConfigError(f"{where}: expected 'key = value' or 'key => value', got {line!r}")
    return match.group(1).strip(), match.group(2) == "=>", match.group(3).strip()


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """Lines without comments and blank ends, with their numbers."""
    in_block = False
    for number, raw in enumerate(text.splitlines(), start=1):
        out: list[str] = []
        i = 0
        while i < len(raw):
            if in_block:
                end = raw.find("--;", i)
                if end < 0:
                    i = len(raw)
                    continue
                in_block, i = False, end + 3
                continue
            ch = raw[i]
            if ch == "\\" and raw[i + 1 : i + 2] == ";":
                out.append(";")
                i += 2
                continue
            if ch == ";":
                if raw[i + 1 : i + 3] == "--":
                    in_block, i = True, i + 3
                    continue
                break
            out.append(ch)
            i += 1
        line = "".join(out).strip()
        if line:
            yield number, line


# -- the dialplan ------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One priority of an extension: ``exten => 100,n(label),Queue(ventas,,,,300)``."""

    context: str
    exten: str
    priority: int
    label: str | None
    app: str
    args: str
    file: Path
    line: int


@dataclass
class Dialplan:
    contexts: dict[str, list[Step]]
    includes: dict[str, list[str]]
    globals: dict[str, str]

    def steps(self, app: str | None = None) -> Iterator[Step]:
        for steps in self.contexts.values():
            for step in steps:
                if app is None or step.app.lower() == app.lower():
                    yield step

    def extensions(self, context: str) -> set[str]:
        return {s.exten for s in self.contexts.get(context, [])}

    def has_extension(self, context: str, exten: str) -> bool:
        return any(matches(pattern, exten) for pattern in self.extensions(context))

    def labels(self, context: str, exten: str) -> set[str]:
        return {s.label for s in self.contexts.get(context, []) if s.exten == exten and s.label}

    def expand(self, text: str) -> str:
        """Replace ``${NAME}`` of [globals]; unknown variables stay as written."""
        return re.sub(r"\$\{(\w+)\}", lambda m: self.globals.get(m.group(1), m.group(0)), text)

    def assigned(self) -> dict[str, set[str]]:
        """Every value each variable gets from ``Set(NAME=value)`` (globals expanded)."""
        values: dict[str, set[str]] = {}
        for step in self.steps("Set"):
            name, equals, value = step.args.partition("=")
            if equals and re.fullmatch(r"\w+", name.strip()):
                values.setdefault(name.strip(), set()).add(self.expand(value.strip()))
        return values

    def variants(self, text: str) -> set[str]:
        """``text`` with each ``${NAME}`` replaced by every value the dialplan gives it.

        Variables set nowhere (channel variables such as ``${EXTEN}``) stay as written.
        """
        known = self.assigned()
        results = {self.expand(text)}
        for name, values in known.items():
            token = "${" + name + "}"
            results = (
                {r.replace(token, v) for r in results for v in values}
                if any(token in r for r in results)
                else results
            )
        return results


def dialplan(conf: ConfigFile) -> Dialplan:
    """Contexts with their numbered steps (``same``, ``n`` and labels resolved)."""
    contexts: dict[str, list[Step]] = {}
    includes: dict[str, list[str]] = {}
    glob: dict[str, str] = {}
    for category in conf.sections():
        if category.name == "globals":
            glob.update({e.key: e.value for e in category.entries})
            continue
        if category.name == "general":
            continue
        steps = contexts.setdefault(category.name, [])
        last: tuple[str, int] | None = None
        for entry in category.entries:
            where = f"{entry.file}:{entry.line}"
            key = entry.key.lower()
            if key == "include":
                includes.setdefault(category.name, []).append(entry.value)
                continue
            if key not in ("exten", "same"):
                continue
            if key == "same":
                if last is None:
                    raise ConfigError(f"{where}: 'same =>' before any 'exten =>'")
                exten, rest = last[0], entry.value
            else:
                exten, _, rest = entry.value.partition(",")
                exten = exten.strip()
            priority_text, _, command = rest.partition(",")
            number, label = _priority(priority_text.strip(), last, exten, where)
            app, args = _application(command.strip())
            steps.append(
                Step(category.name, exten, number, label, app, args, entry.file, entry.line)
            )
            last = (exten, number)
    return Dialplan(contexts, includes, glob)


def _priority(
    text: str, last: tuple[str, int] | None, exten: str, where: str
) -> tuple[int, str | None]:
    match = re.fullmatch(r"(\d+|n|hint)(?:\((\w[\w-]*)\))?", text)
    if not match:
        raise ConfigError(f"{where}: bad priority {text!r} (a number, n or hint, then (label))")
    value, label = match.group(1), match.group(2)
    if value == "hint":
        return -1, label
    if value == "n":
        if last is None or last[0] != exten:
            raise ConfigError(f"{where}: priority 'n' needs an earlier priority of {exten!r}")
        return last[1] + 1, label
    return int(value), label


def _application(command: str) -> tuple[str, str]:
    match = re.fullmatch(r"(\w+)\s*(?:\((.*)\))?", command, re.S)
    if not match:
        return command, ""
    return match.group(1), match.group(2) or ""


def matches(pattern: str, exten: str) -> bool:
    """Whether dialplan ``pattern`` (``_X.``, ``_[1-4]00``, a literal) matches ``exten``."""
    if not pattern.startswith("_"):
        return pattern == exten
    regex = []
    i, body = 0, pattern[1:]
    while i < len(body):
        ch = body[i]
        if ch == "X":
            regex.append("[0-9]")
        elif ch == "Z":
            regex.append("[1-9]")
        elif ch == "N":
            regex.append("[2-9]")
        elif ch == ".":
            regex.append(".+")
        elif ch == "!":
            regex.append(".*")
        elif ch == "[":
            end = body.index("]", i)
            regex.append(f"[{body[i + 1 : end]}]")
            i = end
        else:
            regex.append(re.escape(ch))
        i += 1
    return re.fullmatch("".join(regex), exten) is not None


def split_args(args: str) -> list[str]:
    """Split application arguments on commas outside ``${…}``, ``$[…]`` and parentheses."""
    out, depth, current = [], 0, []
    for ch in args:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(current))
            current = []
        else:
            current.append(ch)
    out.append("".join(current))
    return [a.strip() for a in out]
