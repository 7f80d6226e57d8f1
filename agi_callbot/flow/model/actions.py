"""The actions a flow runs (on entering a block, on a menu option, after the call):
``sms``, ``whatsapp``, ``email``, ``webhook``, ``optin``, ``set``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from agi_callbot.flow.model.texts import Condition


class ActionSpec:
    """Base of action specs; ``kind`` is the YAML key."""

    kind: ClassVar[str]


@dataclass(frozen=True)
class Sms(ActionSpec):
    kind: ClassVar[str] = "sms"
    text: str
    to: str = "${caller}"
    sender: str | None = None  # YAML "from"
    fallback: tuple[Action, ...] = ()


@dataclass(frozen=True)
class WhatsApp(ActionSpec):
    """An approved template, or free ``text`` (only inside the 24 h window: lint checks)."""

    kind: ClassVar[str] = "whatsapp"
    template: str | None
    language: str  # defaults to the flow's language at load
    params: tuple[str, ...] = ()
    to: str = "${caller}"
    fallback: tuple[Action, ...] = ()
    text: str | None = None
    window_open: bool = False


@dataclass(frozen=True)
class Email(ActionSpec):
    kind: ClassVar[str] = "email"
    to: str
    subject: str
    body: str
    sender: str | None = None  # YAML "from"
    fallback: tuple[Action, ...] = ()


@dataclass(frozen=True)
class Webhook(ActionSpec):
    kind: ClassVar[str] = "webhook"
    url: str
    method: str = "POST"
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    save_as: str | None = None
    timeout: float = 3.0


@dataclass(frozen=True)
class OptIn(ActionSpec):
    kind: ClassVar[str] = "optin"
    channel: str  # sms | whatsapp | email
    number: str = "${caller}"


@dataclass(frozen=True)
class SetVars(ActionSpec):
    """``set`` as an action or a block: values are templates (str), literals or conditions."""

    kind: ClassVar[str] = "set"
    values: Mapping[str, str | int | float | bool | Condition]


ACTION_KINDS: dict[str, type[ActionSpec]] = {
    cls.kind: cls for cls in (Sms, WhatsApp, Email, Webhook, OptIn, SetVars)
}
#: action kinds that hand a message to the outbox
MESSAGE_KINDS = frozenset({"sms", "whatsapp", "email", "webhook"})


@dataclass(frozen=True)
class Action:
    kind: str
    spec: ActionSpec
    when: Condition | None = None
    line: int = 0
    column: int = 0
