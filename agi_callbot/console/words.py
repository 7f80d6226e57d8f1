"""The console's words in Spanish and English.

The Spanish words are the ones admins of Spanish-speaking call centres already use in
designers of this kind (*Acciones*, *opción del menú hablado*, *Derivar a un equipo o
agente*, *música de espera*, *Finalizar llamada*, *mensaje final*, *Respuesta de voz*,
*Enviar SMS*, *número de origen*, *Enviar WhatsApp*, *plantilla*).
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

LANGUAGES = ("es", "en")
LANG_COOKIE = "callbot_lang"

WORDS: dict[str, tuple[str, str]] = {
    # frame
    "console": ("Consola del callbot", "Callbot console"),
    "flows": ("Flujos", "Flows"),
    "teams": ("Equipos", "Teams"),
    "calls": ("Llamadas", "Calls"),
    "outbox": ("Mensajes", "Outbox"),
    "dashboard": ("Panel", "Dashboard"),
    "logout": ("Salir", "Log out"),
    "language": ("Idioma", "Language"),
    "skip": ("Ir al contenido", "Skip to content"),
    # login
    "login": ("Entrar", "Log in"),
    "login_help": (
        "Pegue el token de administración que muestra el registro del servidor "
        "(línea «console:») o escriba la contraseña.",
        "Paste the admin token from the server log (the “console:” line) or type the password.",
    ),
    "token_or_password": ("Token o contraseña", "Token or password"),
    "login_failed": ("Token o contraseña incorrectos.", "Wrong token or password."),
    "login_limited": (
        "Demasiados intentos. Espere un minuto.",
        "Too many attempts. Wait a minute.",
    ),
    # flows list
    "name": ("Nombre", "Name"),
    "description": ("Descripción", "Description"),
    "state": ("Estado", "State"),
    "version": ("Versión", "Version"),
    "changed": ("Último cambio", "Last change"),
    "calls_today": ("Llamadas hoy", "Calls today"),
    "valid": ("Válido", "Valid"),
    "warnings": ("Avisos", "Warnings"),
    "errors": ("Errores", "Errors"),
    "new_flow": ("Nuevo flujo", "New flow"),
    "start_from": ("Empezar desde", "Start from"),
    "starter_empty-es": ("Vacío (español)", "Empty (Spanish)"),
    "starter_empty-en": ("Vacío (inglés)", "Empty (English)"),
    "starter_soporte": ("Ejemplo: soporte (español)", "Example: soporte (Spanish)"),
    "starter_support": ("Ejemplo: support (inglés)", "Example: support (English)"),
    "create": ("Crear", "Create"),
    "duplicate": ("Duplicar", "Duplicate"),
    "delete": ("Eliminar", "Delete"),
    "open": ("Abrir", "Open"),
    "no_flows": ("Aún no hay flujos.", "No flows yet."),
    "confirm_delete": (
        "¿Eliminar el flujo «{name}»? Queda en el historial.",
        "Delete flow “{name}”? It stays in the history.",
    ),
    "new_name": ("Nombre del nuevo flujo", "Name of the new flow"),
    "rename_flow": ("Nuevo nombre de «{name}»", "New name for “{name}”"),
    "called_by": ("Subflujo de", "Sub-flow of"),
    "confirm_delete_called": (
        "¿Eliminar el flujo «{name}»? Lo llaman como subflujo: {callers}. Sus llamadas "
        "acabarán con un error en ese bloque. Queda en el historial.",
        "Delete flow “{name}”? It is called as a sub-flow by {callers}: their calls will "
        "end with an error at that block. It stays in the history.",
    ),
    "renamed": ("«{name}» ahora se llama «{new}».", "“{name}” is now “{new}”."),
    "renamed_callers": (
        "Llamadas de subflujo actualizadas en: {callers} (una versión nueva de cada uno, "
        "la anterior en su historial).",
        "Sub-flow calls updated in: {callers} (a new version of each, the previous one in "
        "its history).",
    ),
    "deleted_flows": ("Flujos eliminados (en el historial)", "Deleted flows (in the history)"),
    # designer
    "picture": ("Diagrama", "Picture"),
    "yaml": ("YAML", "YAML"),
    "publish": ("Publicar", "Publish"),
    "history": ("Historial", "History"),
    "try_it": ("Probar", "Try it"),
    "unpublished": ("Cambios sin publicar", "Unpublished changes"),
    "published": ("Publicado", "Published"),
    "n_problems": ("{n} problemas", "{n} problems"),
    "palette": ("Añadir", "Add"),
    "blocks": ("Bloques", "Blocks"),
    "actions": ("Acciones", "Actions"),
    "inspector": ("Propiedades", "Properties"),
    "pick_block": (
        "Elija un bloque en el diagrama para editarlo.",
        "Pick a block in the picture to edit it.",
    ),
    "problems": ("Problemas", "Problems"),
    "no_problems": ("Sin problemas.", "No problems."),
    "conflict_title": ("Otra persona ha guardado este flujo", "Someone else saved this flow"),
    "conflict_help": (
        "Su versión no se ha guardado ni se ha perdido. A la izquierda, lo que hay "
        "publicado ahora; a la derecha, su borrador.",
        "Your version was neither saved nor lost. Left: what is published now; right: your draft.",
    ),
    "keep_mine": ("Publicar mi versión encima", "Publish mine over it"),
    "take_theirs": ("Descartar la mía y cargar la publicada", "Discard mine, load theirs"),
    "restore": ("Restaurar", "Restore"),
    "close": ("Cerrar", "Close"),
    "saved": ("Guardado", "Saved"),
    "picture_stale": (
        "El borrador tiene errores: el diagrama muestra la última versión válida.",
        "The draft has errors: the picture shows the last valid version.",
    ),
    "rename": ("Renombrar", "Rename"),
    "block_name": ("Nombre del bloque", "Block name"),
    "delete_block": ("Eliminar bloque", "Delete block"),
    "start_block": ("Bloque inicial", "Start block"),
    "variables": ("Variables", "Variables"),
    "variables_help": (
        "Variables que puede usar en los textos:",
        "Variables you can use in texts:",
    ),
    "add_action": ("Añadir acción", "Add action"),
    "add_option": ("Añadir opción", "Add option"),
    "add_case": ("Añadir condición", "Add condition"),
    "remove": ("Quitar", "Remove"),
    "none": ("— ninguno —", "— none —"),
    "end_of_call": ("Fin de la llamada", "End of call"),
    "flow_settings": ("Ajustes del flujo", "Flow settings"),
    "in_this_flow": ("En este flujo", "In this flow"),
    "on_hangup_actions": ("Acciones al colgar", "Actions after the call"),
    "new_block_name": ("Nombre del nuevo bloque", "Name of the new block"),
    # prompts
    "prompts": ("Locuciones", "Prompts"),
    "prompts_help": (
        "Cada texto que dice el flujo publicado. Escúchelo, vuelva a generarlo o "
        "súbalo grabado (mp3, wav, ogg, m4a, flac): la grabación sustituye a la voz sintética.",
        "Every text the published flow says. Listen, render it again, or upload a "
        "recording (mp3, wav, ogg, m4a, flac): the recording replaces the synthesized voice.",
    ),
    "prompt": ("Locución", "Prompt"),
    "text": ("Texto", "Text"),
    "rendered": ("Generada", "Rendered"),
    "not_rendered": ("Sin generar", "Not rendered"),
    "recording": ("Grabación", "Recording"),
    "dynamic": ("Con variables: se genera en cada llamada", "Has variables: rendered in each call"),
    "render": ("Generar", "Render"),
    "upload_recording": ("Subir grabación", "Upload recording"),
    "remove_recording": ("Quitar grabación", "Remove recording"),
    "play": ("Escuchar", "Play"),
    # try it
    "try_draft": ("Probar el borrador (sin publicar)", "Try the draft (unpublished)"),
    "caller_number": ("Número del llamante", "Caller number"),
    "caller_name": ("Nombre del llamante", "Caller name"),
    "call": ("Llamar", "Call"),
    "hang_up": ("Colgar", "Hang up"),
    "dial_pad": ("Teclado", "Dial pad"),
    "stay_silent": ("No marcar nada (esperar)", "Press nothing (wait)"),
    "transcript": ("Transcripción", "Transcript"),
    "case_name": ("Nombre del caso de prueba", "Test case name"),
    "save_case": ("Guardar como caso de prueba", "Save as a test case"),
    "case_saved": ("Caso guardado en", "Case saved in"),
    "waiting": ("Esperando al llamante: pulse una tecla", "Waiting for the caller: press a key"),
    "ended": ("Llamada terminada", "Call ended"),
    "said": ("Dice", "Says"),
    "pressed": ("Pulsa", "Presses"),
    "message": ("Mensaje (simulado, no se envía)", "Message (dry run, not sent)"),
    "transfer": ("Derivación", "Transfer"),
    "team": ("Equipo", "Team"),
    "agent": ("Agente", "Agent"),
    "block": ("Bloque", "Block"),
    "error": ("Error", "Error"),
    "menu_event": ("Menú", "Menu"),
    "digits_event": ("Dígitos", "Digits"),
    "no_input_event": ("Sin respuesta", "No input"),
    "outcome_answer": ("contesta", "answered"),
    "outcome_timeout": ("nadie contesta", "no answer"),
    "outcome_nobody": ("nadie disponible", "nobody available"),
    "outcome_hangup": ("el llamante cuelga en cola", "caller hangs up in queue"),
    "outcome_ANSWER": ("contesta", "answered"),
    "outcome_NOANSWER": ("no contesta", "no answer"),
    "outcome_BUSY": ("comunica", "busy"),
    "outcome_CHANUNAVAIL": ("no disponible", "unavailable"),
    "outcome_HANGUP": ("el llamante cuelga", "caller hangs up"),
}


def language(request: web.Request) -> str:
    """``?lang=`` (remembered in a cookie), the cookie, then the browser's language."""
    asked = request.query.get("lang") or request.cookies.get(LANG_COOKIE, "")
    if asked in LANGUAGES:
        return asked
    for part in request.headers.get("Accept-Language", "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "es"


def translator(lang: str) -> Callable[..., str]:
    index = LANGUAGES.index(lang)

    def t(key: str, **values: object) -> str:
        pair = WORDS.get(key)
        text = pair[index] if pair else key
        return text.format(**values) if values else text

    return t


# the operations pages (Teams, Calls, Outbox, Dashboard) keep their words apart
from agi_callbot.console.words_ops import OPERATIONS  # noqa: E402

WORDS.update(OPERATIONS)
