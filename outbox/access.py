"""API tokens: created with a role, stored as their sha256 only, revoked by name.

A token is ``cmd_`` followed by 43 URL-safe characters (256 random bits); it is shown once, when
created. Lookups hash the presented token and compare hashes, never the token itself.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa

from domain.errors import UserFacingError
from outbox.clock import utcnow
from outbox.tables import ROLES, api_tokens, web_sessions

TOKEN_PREFIX: Final = "cmd_"  # noqa: S105 (a prefix, not a secret)
_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}")


class TokenError(UserFacingError):
    """A token cannot be created or revoked (bad role or name, name taken, unknown name)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's name (the actor recorded) and role."""

    name: str
    role: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(engine: sa.Engine, *, name: str, role: str) -> str:
    """A new token for ``name`` with ``role``; returns the token (shown once)."""
    if role not in ROLES:
        raise TokenError(f"--role {role!r}: expected one of {', '.join(ROLES)}")
    if not _NAME.fullmatch(name):
        raise TokenError(
            "--name must be 1-128 letters, digits or . _ @ - starting with a letter or digit"
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        with engine.begin() as conn:
            conn.execute(
                api_tokens.insert().values(
                    name=name, role=role, token_sha256=hash_token(token), created_at=utcnow()
                )
            )
    except sa.exc.IntegrityError:
        raise TokenError(f"a token named {name!r} exists already (revoke it first)") from None
    return token


def revoke_token(engine: sa.Engine, name: str) -> None:
    """Revoke the token named ``name`` (its row is deleted, freeing the name) and end the
    browser sessions opened with it."""
    with engine.begin() as conn:
        held = sa.select(api_tokens.c.token_sha256).where(api_tokens.c.name == name)
        conn.execute(web_sessions.delete().where(web_sessions.c.token_sha256.in_(held)))
        result = conn.execute(api_tokens.delete().where(api_tokens.c.name == name))
    if result.rowcount == 0:
        raise TokenError(f"no token named {name!r}")


def find_principal(engine: sa.Engine, token: str) -> Principal | None:
    """The holder of ``token``, or None for an unknown or revoked token."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(api_tokens.c.name, api_tokens.c.role).where(
                api_tokens.c.token_sha256 == hash_token(token),
                api_tokens.c.revoked_at.is_(None),
            )
        ).first()
    return None if row is None else Principal(row.name, row.role)


def count_tokens(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(api_tokens)
                .where(api_tokens.c.revoked_at.is_(None))
            ).scalar_one()
        )
