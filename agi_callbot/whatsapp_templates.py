"""The WhatsApp template registry (``settings.templates``) and WhatsApp's sending rules.

One place for both users of the rules: flow validation (``agi-callbot validate``, at
load time) and the WhatsApp gateways (before each send, so a registry edited after a
flow was validated still stops a doomed request).

A business may start a conversation only with an approved template (name + language +
a fixed number of body parameters); free-form text is allowed only inside the 24 h
customer-service window, which a phone call does not open. The registry::

    templates:
      encuesta: {language: es, params: 1, category: utility, content_sid: HX…}
      aviso:    {language: [es, en_US], params: 2, content_sid: {es: HX…, en_US: HX…}}

``content_sid`` is only needed for Twilio (Content API template id).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agi_callbot.config import Settings
from agi_callbot.errors import ConfigError

CATEGORIES = ("marketing", "utility", "authentication")
WINDOW_RULE = (
    "free-form WhatsApp text is only allowed inside the 24 h customer-service window "
    "(the customer wrote first; a phone call does not open it): name an approved template"
)


def template_languages(entry: Mapping[str, Any]) -> list[str]:
    """The languages a registry entry is approved in (``[]`` when malformed)."""
    value = entry.get("language")
    if isinstance(value, str) and value:
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return list(value)
    return []


def same_language(a: str, b: str) -> bool:
    """``es-ES`` and ``es_es`` name one language."""
    return a.replace("-", "_").lower() == b.replace("-", "_").lower()


def check_registry_entry(name: str, entry: Any) -> str | None:
    """What is wrong with one ``templates.<name>`` setting (``None``: nothing)."""
    where = f"templates.{name}"
    if not isinstance(entry, Mapping):
        return f"setting {where!r}: expected a mapping with language and params"
    if not template_languages(entry):
        return f"setting '{where}.language': expected a language code or a list of them"
    count = entry.get("params", 0)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        return f"setting '{where}.params': expected the number of body parameters, got {count!r}"
    category = entry.get("category")
    if category is not None and str(category).lower() not in CATEGORIES:
        return f"setting '{where}.category': expected one of {', '.join(CATEGORIES)}"
    unknown = sorted(set(entry) - {"language", "params", "category", "content_sid"})
    if unknown:
        return f"unknown setting '{where}.{unknown[0]}'"
    return None


def validate_registry(settings: Settings) -> None:
    """Refuse a malformed template registry at start-up (``ConfigError`` naming the key)."""
    for name, entry in settings.templates.items():
        problem = check_registry_entry(name, entry)
        if problem:
            raise ConfigError(problem)


def check_template(
    settings: Settings, name: str, language: str | None, params: Sequence[Any] | int | None
) -> str | None:
    """Why a template message would be refused (``None``: it matches the registry).

    The flow validator calls this at load time; the gateways call it again before each
    send, so a registry edited after a flow was validated still stops a doomed request.
    ``params`` is the list of parameters (or just their count when values are dynamic).
    """
    entry = settings.templates.get(name)
    if entry is None:
        known = ", ".join(sorted(settings.templates)) or "none registered"
        return f"WhatsApp template {name!r} is not in the template registry ({known})"
    problem = check_registry_entry(name, entry)
    if problem:
        return problem
    languages = template_languages(entry)
    if language and not any(same_language(language, lang) for lang in languages):
        return (
            f"WhatsApp template {name!r} is not registered in language {language!r} "
            f"(registered: {', '.join(languages)})"
        )
    expected = entry.get("params", 0)
    if isinstance(params, bool):
        params = [params]
    if isinstance(params, str):
        given = 1
    elif isinstance(params, int):
        given = params
    else:
        given = len(params or ())
    if given != expected:
        return f"WhatsApp template {name!r} takes {expected} parameter(s), got {given}"
    return None


def check_message(settings: Settings, payload: Mapping[str, Any]) -> str | None:
    """Check a whatsapp action's payload: a registered template, or text in an open window."""
    name = payload.get("template")
    if name:
        return check_template(settings, str(name), payload.get("language"), payload.get("params"))
    if payload.get("text"):
        return None if payload.get("window_open") is True else WINDOW_RULE
    return "a WhatsApp message needs a template (or text inside the customer-service window)"
