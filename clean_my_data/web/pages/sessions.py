"""Browser sessions: HttpOnly, SameSite=Strict cookies (Secure over https).

- ``cmd_session``: a logged-in session's random id; the session itself lives in the database
  (outbox/web_sessions.py), so every ``serve`` process shares it and a restart keeps it. It
  expires ``SESSION_TTL_SECONDS`` after the login; logging out deletes it; revoking its API
  token ends it.
- ``cmd_csrf``: before login (and in open mode), a random CSRF token that forms echo (double
  submit); nothing is stored for visitors who are not logged in.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from outbox.access import Principal
from outbox.clock import utcnow
from outbox.web_sessions import OpenedSession, find_session

COOKIE_NAME: Final = "cmd_session"
CSRF_COOKIE: Final = "cmd_csrf"
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "x-csrf-token"
SESSION_TTL_SECONDS: Final = 8 * 3600
_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{32,64}")


@dataclass(frozen=True)
class Session:
    """What a request's cookies establish: the CSRF token its forms must carry and, when
    logged in, the principal and the session's id."""

    csrf: str
    principal: Principal | None = None
    session_id: str | None = None
    fresh: bool = False  # a CSRF token minted for this response: its cookie must be set


async def load_session(request: Request) -> Session:
    """The request's session (read once per request, then kept on ``request.state``)."""
    cached: Session | None = getattr(request.state, "session", None)
    if cached is not None:
        return cached
    session = anonymous_session(request)
    session_id = request.cookies.get(COOKIE_NAME)
    if session_id and not request.app.state.open_access:
        engine: sa.Engine = request.app.state.engine
        stored = await run_in_threadpool(find_session, engine, session_id, now=utcnow())
        if stored is not None:
            session = Session(stored.csrf, stored.principal, session_id)
    request.state.session = session
    return session


def anonymous_session(request: Request) -> Session:
    """The visitor's CSRF cookie, or a new token when it has none (or a malformed one)."""
    sent = request.cookies.get(CSRF_COOKIE, "")
    if _TOKEN.fullmatch(sent):
        return Session(sent)
    return Session(secrets.token_urlsafe(32), fresh=True)


def current_session(request: Request) -> Session:
    """The session loaded for this request, else the anonymous one (no database read)."""
    cached: Session | None = getattr(request.state, "session", None)
    if cached is None:
        cached = anonymous_session(request)
        request.state.session = cached
    return cached


def _cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        max_age=SESSION_TTL_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def set_csrf_cookie(request: Request, response: Response, session: Session) -> None:
    _cookie(request, response, CSRF_COOKIE, session.csrf)


def set_session_cookie(request: Request, response: Response, opened: OpenedSession) -> None:
    _cookie(request, response, COOKIE_NAME, opened.session_id)


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
