"""The words of the operations pages (Teams, Calls, Outbox, Dashboard), Spanish and English.

Merged into :data:`agi_callbot.console.words.WORDS`.
"""

from __future__ import annotations

OPERATIONS: dict[str, tuple[str, str]] = {
    # teams
    "ami_on": ("AMI conectado: estado de las colas en directo.", "AMI connected: queues live."),
    "ami_off": (
        "AMI desactivado (ami.enabled: false): no se conoce el estado de las colas.",
        "AMI is off (ami.enabled: false): queue states are not known.",
    ),
    "ami_down": ("AMI sin conexión", "AMI not connected"),
    "team_flows": ("Flujos que derivan aquí", "Flows transferring here"),
    "no_flow_uses": ("Ningún flujo deriva a este equipo.", "No flow transfers to this team."),
    "members": ("Agentes", "Members"),
    "member": ("Agente", "Member"),
    "interface": ("Interfaz", "Interface"),
    "st_available": ("disponible", "available"),
    "st_paused": ("en pausa", "paused"),
    "st_busy": ("ocupado", "busy"),
    "st_ringing": ("sonando", "ringing"),
    "st_unavailable": ("no disponible", "unavailable"),
    "n_available": ("disponibles", "available"),
    "n_paused": ("en pausa", "paused"),
    "n_busy": ("ocupados", "busy"),
    "callers_waiting": ("en espera", "waiting"),
    "longest_wait": ("espera máx.", "longest wait"),
    "no_queue": (
        "Asterisk no tiene una cola con este nombre.",
        "Asterisk has no queue of this name.",
    ),
    "no_members": ("Sin agentes.", "No members."),
    "hold_music": ("Música de espera", "Hold music"),
    "music_class": ("clase", "class"),
    "no_music": (
        "Sin música propia: suena la música por defecto de Asterisk.",
        "No music of its own: Asterisk plays its default music.",
    ),
    "upload_music": ("Cargar música", "Upload music"),
    "music_file": (
        "Archivo (mp3, wav, ogg, m4a, aac, flac)",
        "File (mp3, wav, ogg, m4a, aac, flac)",
    ),
    "music_limits": (
        "Hasta 20 MB y 30 minutos. Se convierte a los formatos de Asterisk (8 y 16 kHz).",
        "Up to 20 MB and 30 minutes. Converted into Asterisk's formats (8 and 16 kHz).",
    ),
    "converting": ("Convirtiendo…", "Converting…"),
    "uploaded": ("Música cargada: {track}", "Music uploaded: {track}"),
    "default_music": ("música por defecto (enlace)", "default music (link)"),
    "confirm_remove_music": ("¿Quitar «{track}»?", "Remove “{track}”?"),
    "conf_section": ("Sección de musiconhold.conf", "musiconhold.conf section"),
    "pickup": ("Para que Asterisk la use", "For Asterisk to pick it up"),
    "pickup_help": (
        "Tras cargar o quitar música, Asterisk la vuelve a leer con «moh reload».",
        "After uploading or removing music, Asterisk reads it again on “moh reload”.",
    ),
    "reload_music": ("Recargar la música (moh reload)", "Reload music (moh reload)"),
    "reloaded": ("Asterisk ha recargado la música.", "Asterisk reloaded the music."),
    "reload_by_hand": (
        "No se pudo por AMI ({reason}). Ejecute en el servidor de Asterisk:",
        "Not possible through AMI ({reason}). Run on the Asterisk server:",
    ),
    "no_teams": ("Ningún flujo ni cola nombra un equipo.", "No flow or queue names a team."),
    "live": ("En directo", "Live"),
    "reconnecting": ("Reconectando…", "Reconnecting…"),
    "listen": ("Escuchar", "Listen"),
    "seconds": ("s", "s"),
}
