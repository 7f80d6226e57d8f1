"""Channel variables, dialplan functions and AstDB of the in-memory Asterisk.

SET/GET VARIABLE, GET FULL VARIABLE with nested ``${…}`` (07, 26), the functions a
callbot reads (CALLERID, CHANNEL(language), CHANNEL(musicclass), LEN…) and DATABASE
GET/PUT/DEL/DELTREE. A mixin of :class:`~agi_callbot.sim.asterisk.MemoryAsterisk`.
"""

from __future__ import annotations

from typing import Any


class ChannelVariables:
    """Variables and AstDB; see the module doc."""

    # set by MemoryAsterisk
    environment: Any
    language: str
    musicclass: str
    answered: bool
    context: str
    extension: str
    priority: str
    variables: dict[str, str]
    database: dict[tuple[str, str], str]

    def set_variable(self, args: list[str]) -> str:
        name, value = args[0], args[1]
        upper = name.upper()
        if upper == "CHANNEL(LANGUAGE)":
            self.language = value
        elif upper == "CHANNEL(MUSICCLASS)":
            self.musicclass = value
        else:
            self.variables[name.lstrip("_")] = value
        return "200 result=1"

    def get_variable(self, args: list[str]) -> str:
        value = self._variable(args[0])
        return "200 result=0" if value is None else f"200 result=1 ({value})"

    def get_full_variable(self, args: list[str]) -> str:
        if len(args) > 1 and not self._channel_known(args[1]):
            return "200 result=0"
        return f"200 result=1 ({self.expand(args[0])})"

    def _variable(self, name: str) -> str | None:
        env = self.environment
        functions = {
            "CALLERID(NAME)": env.calleridname,
            "CALLERID(NUM)": "" if env.callerid == "unknown" else env.callerid,
            "CALLERID(ALL)": f'"{env.calleridname}" <{env.callerid}>',
            "CHANNEL": env.channel,
            "CHANNEL(LANGUAGE)": self.language,
            "CHANNEL(MUSICCLASS)": self.musicclass,
            "CHANNEL(STATE)": "Up" if self.answered else "Ring",
            "CHANNEL(AUDIONATIVEFORMAT)": "(slin)",
            "CHANNEL(AUDIOWRITEFORMAT)": "slin",
            "CONTEXT": self.context,
            "EXTEN": self.extension,
            "PRIORITY": self.priority,
            "UNIQUEID": env.uniqueid,
        }
        upper = name.upper()
        if upper in functions:
            return functions[upper]
        if upper.startswith("LEN(") and name.endswith(")"):
            return str(len(self.expand(name[4:-1])))
        return self.variables.get(name)

    def expand(self, text: str) -> str:
        """Substitute ``${…}`` (nested) like GET FULL VARIABLE; unset is empty."""
        out: list[str] = []
        i = 0
        while i < len(text):
            if text.startswith("${", i):
                depth, j = 1, i + 2
                while j < len(text) and depth:
                    if text.startswith("${", j):
                        depth += 1
                        j += 1
                    elif text[j] == "}":
                        depth -= 1
                    j += 1
                inner = self.expand(text[i + 2 : j - 1])
                out.append(self._variable(inner) or "")
                i = j
            else:
                out.append(text[i])
                i += 1
        return "".join(out)

    def database_get(self, args: list[str]) -> str:
        value = self.database.get((args[0], args[1]))
        return "200 result=0" if value is None else f"200 result=1 ({value})"

    def database_put(self, args: list[str]) -> str:
        self.database[(args[0], args[1])] = args[2]
        return "200 result=1"

    def database_del(self, args: list[str]) -> str:
        return (
            "200 result=1"
            if self.database.pop((args[0], args[1]), None) is not None
            else ("200 result=0")
        )

    def database_deltree(self, args: list[str]) -> str:
        family, prefix = args[0], args[1] if len(args) > 1 else ""
        doomed = [k for k in self.database if k[0] == family and k[1].startswith(prefix)]
        for key in doomed:
            del self.database[key]
        return "200 result=1" if doomed else "200 result=0"

    def _channel_known(self, name: str) -> bool:
        """This call's channel, or the other half of its Local channel (07)."""
        own = self.environment.channel
        peers = {own}
        if own.startswith("Local/") and own[-2:] in (";1", ";2"):
            peers.add(own[:-1] + ("1" if own.endswith("2") else "2"))
        return name in peers
