"""What the inspector shows for each block and action kind the engine has.

A field is a YAML path inside the block (or action) and a widget; the page sends each
change back as one edit of that path (:mod:`agi_callbot.console.document`), so the
forms and the YAML tab always edit the same text. Labels are pairs (Spanish, English).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agi_callbot.flow import model as m


@dataclass(frozen=True)
class Field:
    key: str  # path below the kind (dotted), or "" for the kind's own value
    widget: str  # text line duration int bool block team music template choice list mapping
    label: tuple[str, str]
    choices: tuple[str, ...] = ()
    help: tuple[str, str] = ("", "")


def _f(
    key: str, widget: str, es: str, en: str, *choices: str, help: tuple[str, str] = ("", "")
) -> Field:
    return Field(key, widget, (es, en), choices, help)


#: block kind → (label, fields below the kind key)
BLOCKS: dict[str, tuple[tuple[str, str], tuple[Field, ...]]] = {
    "say": (
        ("Mensaje (respuesta de voz)", "Message (voice response)"),
        (_f("", "text", "Texto que se dice", "Text spoken"),),
    ),
    "play": (
        ("Reproducir un audio", "Play a sound file"),
        (_f("", "line", "Archivo de sonido de Asterisk", "Asterisk sound file"),),
    ),
    "menu": (
        ("Menú hablado", "Spoken menu"),
        (
            _f("prompt", "text", "Locución del menú", "Menu prompt"),
            _f("options", "options", "Opciones del menú hablado", "Spoken-menu options"),
            _f("timeout", "duration", "Tiempo de espera", "Timeout"),
            _f("retries", "int", "Reintentos", "Retries"),
            _f("no_input", "text", "Mensaje si no marca nada", "Message on no input"),
            _f(
                "invalid",
                "text",
                "Mensaje si la opción no es válida",
                "Message on an invalid option",
            ),
            _f("on_fail", "block", "Si no lo consigue, ir a", "When it fails, go to"),
            _f(
                "barge_in",
                "bool",
                "Se puede marcar durante la locución",
                "Digits interrupt the prompt",
            ),
            _f("repeat", "line", "Tecla para repetir", "Key to repeat"),
            _f("terminator", "line", "Tecla de fin", "End key"),
            _f("inter_digit", "duration", "Espera entre dígitos", "Wait between digits"),
        ),
    ),
    "collect": (
        ("Pedir dígitos", "Collect digits"),
        (
            _f("prompt", "text", "Locución", "Prompt"),
            _f("var", "line", "Guardar en la variable", "Save in variable"),
            _f("min_digits", "int", "Mínimo de dígitos", "Minimum digits"),
            _f("max_digits", "int", "Máximo de dígitos", "Maximum digits"),
            _f("terminator", "line", "Tecla de fin", "End key"),
            _f("pattern", "line", "Patrón (expresión regular)", "Pattern (regular expression)"),
            _f("retries", "int", "Reintentos", "Retries"),
            _f("timeout", "duration", "Tiempo de espera", "Timeout"),
            _f("no_input", "text", "Mensaje si no marca nada", "Message on no input"),
            _f("invalid", "text", "Mensaje si no es válido", "Message on invalid input"),
            _f("on_fail", "block", "Si no lo consigue, ir a", "When it fails, go to"),
        ),
    ),
    "transfer": (
        ("Derivar a un equipo o agente", "Transfer to a team or agent"),
        (
            _f("team", "team", "Equipo (cola de Asterisk)", "Team (Asterisk queue)"),
            _f("agent", "line", "Agente (p. ej. PJSIP/1001)", "Agent (e.g. PJSIP/1001)"),
            _f("music", "music", "Música de espera", "Hold music"),
            _f("announce", "text", "Aviso antes de derivar", "Announcement before the transfer"),
            _f("max_wait", "duration", "Espera máxima en cola", "Maximum wait in queue"),
            _f("ring", "duration", "Tiempo de timbre (agente)", "Ring time (agent)"),
            _f(
                "check_available", "bool", "Comprobar si hay alguien libre", "Check someone is free"
            ),
            _f("on_nobody", "block", "Si no hay nadie disponible", "When nobody is available"),
            _f("on_no_answer", "block", "Si nadie contesta", "When nobody answers"),
            _f("on_busy", "block", "Si comunica", "When busy"),
            _f("on_unavailable", "block", "Si no está disponible", "When unavailable"),
        ),
    ),
    "hangup": (
        ("Finalizar llamada", "End call"),
        (
            _f(
                "message",
                "text",
                "Mensaje final (respuesta de voz)",
                "Final message (voice response)",
            ),
            _f("result", "line", "Resultado para el plan de marcación", "Result for the dialplan"),
        ),
    ),
    "return": (
        ("Volver al plan de marcación", "Return to the dialplan"),
        (_f("result", "line", "Resultado para el plan de marcación", "Result for the dialplan"),),
    ),
    "set": (
        ("Dar valor a variables", "Set variables"),
        (
            _f(
                "",
                "mapping",
                "Variables (una por línea: nombre: valor)",
                "Variables (one a line: name: value)",
            ),
        ),
    ),
    "branch": (
        ("Condición", "Branch"),
        (
            _f(
                "",
                "cases",
                "Condiciones (la primera que se cumple)",
                "Conditions (the first that holds)",
            ),
        ),
    ),
    "hours": (
        ("Horario", "Opening hours"),
        (
            _f("timezone", "line", "Zona horaria", "Time zone"),
            _f(
                "week",
                "mapping",
                "Semana (p. ej. mon-fri: 09:00-14:00)",
                "Week (e.g. mon-fri: 09:00-14:00)",
            ),
            _f(
                "holidays",
                "list",
                "Festivos (uno por línea: 2026-12-25 o 01-06)",
                "Holidays (one a line: 2026-12-25 or 01-06)",
            ),
            _f("open", "block", "Abierto: ir a", "Open: go to"),
            _f("closed", "block", "Cerrado: ir a", "Closed: go to"),
            _f("holiday", "block", "Festivo: ir a", "Holiday: go to"),
        ),
    ),
    "goto": (("Ir a", "Go to"), (_f("", "block", "Bloque", "Block"),)),
    "subflow": (
        ("Subflujo", "Sub-flow"),
        (
            _f("flow", "flow", "Flujo", "Flow"),
            _f("vars", "mapping", "Variables (nombre: valor)", "Variables (name: value)"),
        ),
    ),
    "step": (("Solo acciones", "Actions only"), ()),
}

#: action kind → (label, fields below the kind key)
ACTIONS: dict[str, tuple[tuple[str, str], tuple[Field, ...]]] = {
    "sms": (
        ("Enviar SMS", "Send SMS"),
        (
            _f("to", "line", "Para", "To"),
            _f("from", "line", "Número de origen", "Origin number"),
            _f("text", "text", "Contenido", "Content"),
        ),
    ),
    "whatsapp": (
        ("Enviar WhatsApp", "Send WhatsApp"),
        (
            _f("to", "line", "Para", "To"),
            _f("template", "template", "Plantilla", "Template"),
            _f("language", "line", "Idioma de la plantilla", "Template language"),
            _f("params", "list", "Parámetros (uno por línea)", "Parameters (one a line)"),
            _f(
                "text",
                "text",
                "Texto libre (solo con la ventana de 24 h abierta)",
                "Free text (only inside the 24 h window)",
            ),
            _f(
                "window_open",
                "bool",
                "El cliente escribió en las últimas 24 h",
                "The customer wrote in the last 24 h",
            ),
        ),
    ),
    "email": (
        ("Enviar correo", "Send e-mail"),
        (
            _f("to", "line", "Para", "To"),
            _f("from", "line", "De", "From"),
            _f("subject", "line", "Asunto", "Subject"),
            _f("body", "text", "Texto", "Body"),
        ),
    ),
    "webhook": (
        ("Llamar a un webhook", "Call a webhook"),
        (
            _f("url", "line", "URL", "URL"),
            _f("method", "choice", "Método", "Method", "POST", "GET", "PUT", "PATCH", "DELETE"),
            _f("body", "mapping", "Cuerpo (nombre: valor)", "Body (name: value)"),
            _f("headers", "mapping", "Cabeceras (nombre: valor)", "Headers (name: value)"),
            _f(
                "save_as",
                "line",
                "Guardar la respuesta en la variable",
                "Save the answer in variable",
            ),
            _f("timeout", "duration", "Tiempo máximo", "Timeout"),
        ),
    ),
    "optin": (
        ("Guardar consentimiento", "Record consent (opt-in)"),
        (
            _f("channel", "choice", "Canal", "Channel", "whatsapp", "sms", "email"),
            _f("number", "line", "Número", "Number"),
        ),
    ),
    "set": (
        ("Dar valor a variables", "Set variables"),
        (_f("", "mapping", "Variables (nombre: valor)", "Variables (name: value)"),),
    ),
}

#: what a new block or action of each kind starts with (valid as it is where possible)
NEW_BLOCK: dict[str, dict[str, Any]] = {
    "say": {"say": "Texto"},
    "play": {"play": "beep"},
    "menu": {"menu": {"prompt": "Pulse 1.", "options": {}}},
    "collect": {"collect": {"prompt": "Marque su número y pulse almohadilla.", "var": "digits"}},
    "transfer": {"transfer": {"team": "ventas"}},
    "hangup": {"hangup": {"message": "Gracias por llamar. Adiós."}},
    "return": {"return": None},
    "set": {"set": {"var": "value"}},
    "branch": {"branch": [{"else": ""}]},
    "hours": {"hours": {"week": {"mon-fri": "09:00-18:00"}, "open": "", "closed": ""}},
    "goto": {"goto": ""},
    "subflow": {"subflow": ""},
    "step": {"actions": []},
}
NEW_ACTION: dict[str, dict[str, Any]] = {
    "sms": {"sms": {"to": "${caller}", "from": "", "text": ""}},
    "whatsapp": {"whatsapp": {"to": "${caller}", "template": "", "params": []}},
    "email": {"email": {"to": "", "subject": "", "body": ""}},
    "webhook": {"webhook": {"url": "https://"}},
    "optin": {"optin": {"channel": "whatsapp"}},
    "set": {"set": {"var": "value"}},
}

#: variables every call has (the router sets them)
CALL_VARIABLES = ("caller", "caller_name", "dnid", "uniqueid", "channel", "language", "flow")


def block_kind(body: Any) -> str:
    """The kind key a block's YAML mapping uses (``step`` when it has none)."""
    if isinstance(body, dict):
        for key in body:
            if key in BLOCKS and key != "step":
                return str(key)
    return "step"


def takes_next(kind: str) -> bool:
    spec = m.BLOCK_KINDS.get(m.KIND_ALIASES.get(kind, kind))
    return True if spec is None else spec.takes_next


def variables(data: Any) -> list[str]:
    """Variables offered in text fields: the call's, the flow's declared ones, collect
    targets, set names and webhook results (``save_as``)."""
    found: list[str] = list(CALL_VARIABLES)
    if isinstance(data, dict):
        declared = data.get("variables")
        if isinstance(declared, dict):
            found += [str(k) for k in declared]

    seen: set[int] = set()

    def walk(node: Any) -> None:
        if id(node) in seen:  # an alias of something walked already
            return
        if isinstance(node, dict | list):
            seen.add(id(node))
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "collect" and isinstance(value, dict):
                    found.append(str(value.get("var") or "digits"))
                elif key == "set" and isinstance(value, dict):
                    found.extend(str(k) for k in value)
                elif key == "save_as" and isinstance(value, str):
                    found.append(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data.get("blocks") if isinstance(data, dict) else None)
    return list(dict.fromkeys(found))
