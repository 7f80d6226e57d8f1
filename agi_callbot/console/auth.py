"""Who may use the console: the admin token, an optional password, sessions, CSRF.

- The token is the value of the environment variable ``console.token_env`` names
  (``CONSOLE_TOKEN``). When it is unset the server makes one at start and writes the
  login URL to a mode-600 file (and to the terminal, when one is watching): never to the
  log. ``/api/`` accepts ``Authorization: Bearer <token>``.
- A browser trades the token (or the admin password, whose scrypt hash is in the
  settings) for a session cookie: HttpOnly, SameSite=Strict, and Secure when the browser
  came over HTTPS (directly or through a proxy of ``console.trusted_proxies``).
- Every state-changing request made with a session carries the session's CSRF token in
  ``X-CSRF-Token`` (or a ``csrf`` form field). Bearer requests carry no ambient
  credential and need none.
- Failed logins are limited per client address (behind a trusted proxy, the browser's);
  every secret comparison is constant-time.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from agi_callbot.config import Settings
from agi_callbot.console.proxies import TrustedProxies
from agi_callbot.kit.conf import write_text
from agi_callbot.log import read_secret as secret

log = logging.getLogger("agi_callbot.console")

COOKIE = "callbot_console"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: failed logins allowed per client address within :data:`LOGIN_WINDOW_S`
LOGIN_ATTEMPTS = 5
LOGIN_WINDOW_S = 60.0
MAX_SESSIONS = 1000

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Session:
    id: str
    csrf: str
    expires: float


#: where a guarded route finds the request's session
SESSION: Any = (
    web.RequestKey("console_session", Session) if hasattr(web, "RequestKey") else "console_session"
)


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$<salt>$<hash>`` for ``console.password_hash``."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    encode = base64.urlsafe_b64encode
    return f"scrypt${encode(salt).decode()}${encode(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.urlsafe_b64decode(digest)
        got = hashlib.scrypt(
            password.encode(), salt=base64.urlsafe_b64decode(salt), n=2**14, r=8, p=1, dklen=32
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


class Guard:
    """Sessions and checks for every console route."""

    def __init__(self, settings: Settings, token: str | None = None) -> None:
        self.settings = settings
        configured = token or secret(settings.console.token_env)
        self.generated = configured is None
        self.token = configured or secrets.token_urlsafe(24)
        self.password_hash = settings.console.password_hash
        self.ttl = float(settings.console.session_ttl)
        self.proxies = TrustedProxies(settings.console.trusted_proxies)
        self._sessions: dict[str, Session] = {}
        self._failures: dict[str, list[float]] = {}

    # ----------------------------------------------------------------- credentials

    def token_ok(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self.token.encode())

    def password_ok(self, candidate: str) -> bool:
        return bool(self.password_hash) and check_password(candidate, self.password_hash)

    def limited(self, client: str) -> bool:
        """Too many failed logins from ``client`` lately."""
        now = time.monotonic()
        recent = [t for t in self._failures.get(client, []) if now - t < LOGIN_WINDOW_S]
        self._failures[client] = recent
        return len(recent) >= LOGIN_ATTEMPTS

    def failed(self, client: str) -> None:
        self._failures.setdefault(client, []).append(time.monotonic())
        if len(self._failures) > 10_000:
            self._failures.clear()

    # ----------------------------------------------------------------- sessions

    def open_session(self, response: web.StreamResponse, request: web.Request) -> Session:
        now = time.monotonic()
        if len(self._sessions) >= MAX_SESSIONS:
            for sid, old in list(self._sessions.items()):
                if old.expires < now:
                    del self._sessions[sid]
            if len(self._sessions) >= MAX_SESSIONS:
                del self._sessions[min(self._sessions, key=lambda s: self._sessions[s].expires)]
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), now + self.ttl)
        self._sessions[session.id] = session
        response.set_cookie(
            COOKIE,
            session.id,
            httponly=True,
            samesite="Strict",
            secure=self.proxies.secure(request),
            path="/",
            max_age=int(self.ttl),
        )
        return session

    def close_session(self, request: web.Request, response: web.StreamResponse) -> None:
        session = self.session(request)
        if session is not None:
            self._sessions.pop(session.id, None)
        response.del_cookie(COOKIE, path="/")

    def session(self, request: web.Request) -> Session | None:
        sid = request.cookies.get(COOKIE, "")
        if not sid:
            return None
        for known, session in self._sessions.items():
            if hmac.compare_digest(known.encode(), sid.encode()):
                if session.expires < time.monotonic():
                    del self._sessions[known]
                    return None
                return session
        return None

    def bearer(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        return scheme.lower() == "bearer" and bool(value) and self.token_ok(value.strip())

    async def csrf_ok(self, request: web.Request, session: Session) -> bool:
        candidate = request.headers.get(CSRF_HEADER, "")
        if not candidate and request.content_type == "application/x-www-form-urlencoded":
            candidate = str((await request.post()).get("csrf", ""))
        return bool(candidate) and hmac.compare_digest(candidate.encode(), session.csrf.encode())

    # ----------------------------------------------------------------- route wrappers

    def page(self, handler: Handler) -> Handler:
        """An HTML page: no session → redirect to /login; a state change needs CSRF."""

        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            session = self.session(request)
            if session is None:
                raise web.HTTPSeeOther("/login")
            if request.method not in SAFE_METHODS and not await self.csrf_ok(request, session):
                raise web.HTTPForbidden(text="missing or wrong CSRF token: reload the page")
            request[SESSION] = session
            return await handler(request)

        return guarded

    def api(self, handler: Handler) -> Handler:
        """A JSON route: a bearer token, or a session (+ CSRF on a state change); else 401."""

        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            if not self.bearer(request):
                session = self.session(request)
                if session is None:
                    return web.json_response(
                        {"error": "log in first: a session cookie or a bearer token"}, status=401
                    )
                if request.method not in SAFE_METHODS and not await self.csrf_ok(request, session):
                    return web.json_response(
                        {"error": "missing or wrong CSRF token: reload the page"}, status=403
                    )
                request[SESSION] = session
            return await handler(request)

        return guarded

    def announce(self, base_url: str) -> None:
        """Say where the console is. A token generated here is never logged (logs travel
        to places a token must not): the login link goes to a mode-600 file beside the
        node's data (``agi-callbot console-url`` prints it) and, when a person is
        watching the terminal, to that terminal only, as Jupyter does."""
        base = base_url.rstrip("/")
        link_file = login_link_file(self.settings)
        if not self.generated:
            link_file.unlink(missing_ok=True)  # an earlier run's link no longer works
            log.info("console: %s/login", base)
            return
        url = f"{base}/login?token={self.token}"
        link_file.parent.mkdir(parents=True, exist_ok=True)
        write_text(link_file, url + "\n", private=True)
        log.warning(
            "console: %s/login: token generated at start; the login link is in %s "
            "(agi-callbot console-url prints it; set %s to choose the token)",
            base,
            link_file,
            self.settings.console.token_env,
        )
        if sys.stderr is not None and sys.stderr.isatty():
            print(f"console: {url}", file=sys.stderr, flush=True)

    def forget_link(self) -> None:
        """At shutdown: the generated token dies with the node, and so does its link."""
        if self.generated:
            login_link_file(self.settings).unlink(missing_ok=True)


def login_link_file(settings: Settings) -> Path:
    """Where a node with a generated token keeps its login link (mode 600)."""
    return settings.console_dir / "login-url"
