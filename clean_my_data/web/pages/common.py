"""What every page shares: templates, the session, the page's principal, CSRF on forms."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData, UploadFile

from clean_my_data.web.auth import CAN_AUDIT, LOCAL_PRINCIPAL
from clean_my_data.web.pages.sessions import (
    CSRF_FIELD,
    Session,
    csrf_matches,
    current_session,
    load_session,
    same_origin,
    set_csrf_cookie,
)
from outbox.access import Principal

WEB_DIR: Final = Path(__file__).resolve().parent.parent
TEMPLATES: Final = Jinja2Templates(directory=str(WEB_DIR / "templates"))
FORM_MEDIA_TYPE: Final = "application/x-www-form-urlencoded"
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'{connect}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class LoginRequiredError(Exception):
    """The page needs a logged-in session; answered with a redirect to the login page."""


class PageError(Exception):
    """Answered as an HTML error page with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    principal: Principal | None = None,
    session: Session | None = None,
    connect_src: tuple[str, ...] = (),
) -> HTMLResponse:
    """Render ``template``; sets a CSRF cookie when the browser has none, so that every form
    carries a CSRF token. ``connect_src``: origins the page's scripts may send to besides this
    one (the S3 endpoint of direct uploads)."""
    current = session or current_session(request)
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {
            **context,
            "principal": principal,
            "csrf_token": current.csrf,
            "open_access": request.app.state.open_access,
            "is_auditor": principal is not None and principal.role in CAN_AUDIT,
        },
        status_code=status,
    )
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.format(
        connect="".join(f" {origin}" for origin in connect_src)
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if current.fresh:
        set_csrf_cookie(request, response, current)
    return response


async def page_principal(request: Request) -> Principal:
    """The page's viewer: the local administrator in open mode, else the session's holder."""
    if request.app.state.open_access:
        return LOCAL_PRINCIPAL
    session = await load_session(request)
    if session.principal is None:
        raise LoginRequiredError
    return session.principal


async def read_form(request: Request) -> FormData:
    """The posted page form: URL-encoded only (no page sends files; the body itself is small,
    web/bodies.py), so no visitor, logged in or not, can make the server spool a body to
    disk."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != FORM_MEDIA_TYPE:
        raise PageError(415, "This form was refused: it was not sent as a page form.")
    body = await request.body()
    fields: list[tuple[str, str | UploadFile]] = []
    fields.extend(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return FormData(fields)


async def checked_form(request: Request) -> tuple[FormData, Session]:
    """The posted form, refused unless it comes from this origin with the session's token."""
    session = await load_session(request)
    form = await read_form(request)
    sent = form.get(CSRF_FIELD)
    if (
        session.fresh
        or not same_origin(request)
        or not csrf_matches(session, sent if isinstance(sent, str) else None)
    ):
        raise PageError(403, "This form was refused: it did not come from this site's page.")
    return form, session


def require_auditor(principal: Principal) -> None:
    if principal.role not in CAN_AUDIT:
        raise PageError(403, "These pages are for auditors.")
