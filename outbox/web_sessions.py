"""Browser sessions of the web pages, in the database so that every ``serve`` process shares
them and a restart keeps them.

The cookie carries a random session id (256 bits); the table holds its sha256, the sha256 of
the API token the session was opened with (both digests of ``hash_token``), the session's CSRF
token and its expiry. A lookup joins ``api_tokens``: a revoked (deleted) token authenticates no
session, and ``revoke_token`` deletes its sessions too.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa

from outbox.access import Principal, hash_token
from outbox.tables import api_tokens, web_sessions

MAX_SESSION_ID_LENGTH: Final = 128


@dataclass(frozen=True)
class StoredSession:
    """A live session: who it authenticates and the CSRF token its forms carry."""

    principal: Principal
    csrf: str
    expires_at: datetime


@dataclass(frozen=True)
class OpenedSession:
    session_id: str  # the cookie's value; never stored
    csrf: str
    expires_at: datetime


def open_session(
    engine: sa.Engine, token: str, *, now: datetime, ttl_seconds: float
) -> OpenedSession:
    """A new session for the holder of ``token`` (checked by the caller); expired sessions of
    every holder are deleted in the same transaction."""
    opened = OpenedSession(
        secrets.token_urlsafe(32), secrets.token_urlsafe(32), now + timedelta(seconds=ttl_seconds)
    )
    with engine.begin() as conn:
        conn.execute(web_sessions.delete().where(web_sessions.c.expires_at < now))
        conn.execute(
            web_sessions.insert().values(
                session_sha256=hash_token(opened.session_id),
                token_sha256=hash_token(token),
                csrf=opened.csrf,
                created_at=now,
                expires_at=opened.expires_at,
            )
        )
    return opened


def find_session(engine: sa.Engine, session_id: str, *, now: datetime) -> StoredSession | None:
    """The live session ``session_id`` names, None when unknown, expired, or its token was
    revoked."""
    if not session_id or len(session_id) > MAX_SESSION_ID_LENGTH:
        return None
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(
                api_tokens.c.name, api_tokens.c.role, web_sessions.c.csrf, web_sessions.c.expires_at
            )
            .select_from(
                web_sessions.join(
                    api_tokens, api_tokens.c.token_sha256 == web_sessions.c.token_sha256
                )
            )
            .where(
                web_sessions.c.session_sha256 == hash_token(session_id),
                web_sessions.c.expires_at > now,
                api_tokens.c.revoked_at.is_(None),
            )
        ).first()
    if row is None:
        return None
    return StoredSession(Principal(row.name, row.role), row.csrf, row.expires_at)


def close_session(engine: sa.Engine, session_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            web_sessions.delete().where(web_sessions.c.session_sha256 == hash_token(session_id))
        )
