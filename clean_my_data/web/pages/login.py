"""Logging in with an API token, logging out, and the landing page."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from clean_my_data.web.auth import CAN_AUDIT
from clean_my_data.web.pages.access import token_principal
from clean_my_data.web.pages.common import checked_form, page_principal, render
from clean_my_data.web.pages.sessions import (
    COOKIE_NAME,
    SESSION_TTL_SECONDS,
    load_session,
    set_session_cookie,
)
from clean_my_data.web.problems import ProblemError
from outbox.access import Principal
from outbox.clock import utcnow
from outbox.web_sessions import close_session, open_session

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no ``//host``) is followed after login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/", response_class=HTMLResponse)
async def landing(principal: Annotated[Principal, Depends(page_principal)]) -> Response:
    return RedirectResponse("/audit" if principal.role in CAN_AUDIT else "/upload", 303)


@router.get("/login", response_class=HTMLResponse)
async def login_page(
    request: Request, next: Annotated[str | None, Query(max_length=2000)] = None
) -> Response:
    if request.app.state.open_access:
        return RedirectResponse(safe_next(next), 303)
    await load_session(request)  # a logged-in visitor's form carries its session's token
    return render(request, "login.html", {"next": safe_next(next), "error": None})


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form, session = await checked_form(request)
    target = safe_next(str(form.get("next") or "/"))
    token = str(form.get("token") or "").strip()
    try:
        if not token:
            raise ProblemError(401, "enter an API token")
        await token_principal(request, token)
    except ProblemError:
        context = {"next": target, "error": "That token is unknown or revoked."}
        return render(request, "login.html", context, status=401, session=session)
    engine: sa.Engine = request.app.state.engine
    if session.session_id is not None:  # a new session id, never the one seen before
        await run_in_threadpool(close_session, engine, session.session_id)
    opened = await run_in_threadpool(
        lambda: open_session(engine, token, now=utcnow(), ttl_seconds=SESSION_TTL_SECONDS)
    )
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, opened)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    _, session = await checked_form(request)
    if session.session_id is not None:
        await run_in_threadpool(close_session, request.app.state.engine, session.session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response
