"""Who is calling from a browser: the session cookie, its CSRF token and the request's origin."""

from __future__ import annotations

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from clean_my_data.web.pages.sessions import CSRF_HEADER, csrf_matches, load_session, same_origin
from clean_my_data.web.problems import ProblemError
from outbox.access import Principal, find_principal

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def session_principal(request: Request) -> Principal:
    """The API caller authenticated by the session cookie. A state-changing request must come
    from this origin and carry the session's CSRF token in ``X-CSRF-Token``."""
    session = await load_session(request)
    if session.principal is None:
        raise ProblemError(401, "the session has expired; log in again", kind="unauthenticated")
    if request.method not in SAFE_METHODS and (
        not same_origin(request) or not csrf_matches(session, request.headers.get(CSRF_HEADER))
    ):
        raise ProblemError(403, "the request lacks this site's CSRF token", kind="csrf-refused")
    return session.principal


async def token_principal(request: Request, token: str) -> Principal:
    engine: sa.Engine = request.app.state.engine
    principal = await run_in_threadpool(find_principal, engine, token)
    if principal is None:
        raise ProblemError(401, "the API token is unknown or revoked", kind="unauthenticated")
    return principal
