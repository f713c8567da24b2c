"""Browser sessions: a random id in an HttpOnly, SameSite=Strict cookie, kept in memory.

A session holds its CSRF token and, once logged in, the API token it was opened with; the
token is checked against the database on every request, so a revoked token ends the session.
Sessions live in the serving process: a restart logs everyone out.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

COOKIE_NAME: Final = "cmd_session"
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "x-csrf-token"
SESSION_TTL_SECONDS: Final = 8 * 3600
MAX_SESSIONS: Final = 10_000


@dataclass(frozen=True)
class Session:
    session_id: str
    csrf: str
    expires_at: float
    token: str | None = None  # None: not logged in (or open mode)


class SessionStore:
    """Sessions by id, expiring after ``SESSION_TTL_SECONDS``; thread-safe."""

    def __init__(self, ttl_seconds: float = SESSION_TTL_SECONDS) -> None:
        self._ttl = ttl_seconds
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, token: str | None = None) -> Session:
        session = Session(
            secrets.token_urlsafe(32),
            secrets.token_urlsafe(32),
            time.monotonic() + self._ttl,
            token,
        )
        with self._lock:
            self._evict()
            self._sessions[session.session_id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if session.expires_at < time.monotonic():
                del self._sessions[session_id]
                return None
            return session

    def log_in(self, previous: Session | None, token: str) -> Session:
        """A new session id (never the one seen before login) holding ``token``."""
        if previous is not None:
            self.close(previous.session_id)
        return self.open(token)

    def close(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def _evict(self) -> None:
        now = time.monotonic()
        for key in [k for k, s in self._sessions.items() if s.expires_at < now]:
            del self._sessions[key]
        while len(self._sessions) >= MAX_SESSIONS:
            del self._sessions[next(iter(self._sessions))]


def session_of(request: Request) -> Session | None:
    store: SessionStore | None = getattr(request.app.state, "sessions", None)
    if store is None:
        return None
    return store.get(request.cookies.get(COOKIE_NAME))


def set_cookie(request: Request, response: Response, session: Session) -> None:
    response.set_cookie(
        COOKIE_NAME,
        session.session_id,
        max_age=SESSION_TTL_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def csrf_matches(session: Session, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(session.csrf, sent or "")


def same_origin(request: Request) -> bool:
    """A state-changing request must come from this service's own pages: its ``Origin`` (or,
    failing that, ``Referer``) names this host, or the browser sent neither."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return True
    own = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
    return origin == own or origin.startswith(own + "/")
