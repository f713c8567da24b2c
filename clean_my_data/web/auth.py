"""Who is calling: ``Authorization: Bearer <token>`` checked against the hashed tokens.

With no token configured when the server started (open mode, loopback only), every caller is
the local administrator ``local``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Final

import sqlalchemy as sa
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from clean_my_data.web.pages.access import session_principal
from clean_my_data.web.pages.sessions import COOKIE_NAME
from clean_my_data.web.problems import ProblemError
from outbox.access import Principal, find_principal
from outbox.tables import ROLE_ADMIN, ROLE_ANALYST, ROLE_AUDITOR

LOCAL_PRINCIPAL: Final = Principal("local", ROLE_ADMIN)
CAN_SUBMIT: Final = frozenset({ROLE_ANALYST, ROLE_ADMIN})
CAN_AUDIT: Final = frozenset({ROLE_AUDITOR, ROLE_ADMIN})
ANY_ROLE: Final = frozenset({ROLE_ANALYST, ROLE_AUDITOR, ROLE_ADMIN})


def sees_everything(principal: Principal) -> bool:
    return principal.role in CAN_AUDIT


async def authenticate(request: Request) -> Principal:
    if request.app.state.open_access:
        return LOCAL_PRINCIPAL
    header = request.headers.get("authorization", "")
    if not header and request.cookies.get(COOKIE_NAME):
        return await session_principal(request)
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ProblemError(
            401,
            "send an API token as 'Authorization: Bearer <token>'",
            kind="unauthenticated",
            headers={"WWW-Authenticate": 'Bearer realm="clean-my-data"'},
        )
    engine: sa.Engine = request.app.state.engine
    principal = await run_in_threadpool(find_principal, engine, token.strip())
    if principal is None:
        raise ProblemError(
            401,
            "the API token is unknown or revoked",
            kind="unauthenticated",
            headers={"WWW-Authenticate": 'Bearer realm="clean-my-data", error="invalid_token"'},
        )
    return principal


def require(roles: frozenset[str]) -> Callable[[Request], object]:
    """A dependency admitting only ``roles`` (403 for the others)."""

    async def _dependency(request: Request) -> Principal:
        principal = await authenticate(request)
        if principal.role not in roles:
            raise ProblemError(
                403,
                f"the role {principal.role!r} may not do this (needs {' or '.join(sorted(roles))})",
                kind="forbidden",
            )
        return principal

    return _dependency


Submitter = Annotated[Principal, Depends(require(CAN_SUBMIT))]
Reader = Annotated[Principal, Depends(require(ANY_ROLE))]
Auditor = Annotated[Principal, Depends(require(CAN_AUDIT))]
