"""API tokens: created with a role, stored as their sha256 only, revoked by name.

A token is ``cmd_`` followed by 43 URL-safe characters (256 random bits); it is shown once, when
created. Lookups hash the presented token and compare hashes, never the token itself. A token
whose secret is chosen outside (``API_ADMIN_TOKEN``) is ensured with :func:`ensure_token`; such a
secret must pass :func:`token_weakness`.
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
MAX_TOKEN_LENGTH: Final = 128
MIN_SECRET_CHARACTERS: Final = 32  # after the prefix
MIN_DISTINCT_CHARACTERS: Final = 16  # a random 32-character secret has about 25
HOW_TO_GENERATE: Final = (
    "generate one with: python3 -c 'import secrets; print(\"cmd_\" + secrets.token_urlsafe(32))'"
)
_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}")
_SECRET_BODY: Final = re.compile(r"[A-Za-z0-9_-]+")
_ENSURE_TRIES: Final = 3


class TokenError(UserFacingError):
    """A token cannot be created or revoked (bad role or name, name taken, unknown name)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's name (the actor recorded) and role."""

    name: str
    role: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def token_weakness(token: str) -> str | None:
    """Why ``token`` may not serve as a chosen token secret, or None when it may. The reason
    never quotes the token."""
    body = token.removeprefix(TOKEN_PREFIX)
    if not token.startswith(TOKEN_PREFIX):
        return f"must start with {TOKEN_PREFIX!r}"
    if len(token) > MAX_TOKEN_LENGTH:
        return f"must be at most {MAX_TOKEN_LENGTH} characters long"
    if not _SECRET_BODY.fullmatch(body or "-"):
        return f"only letters, digits, '-' and '_' may follow {TOKEN_PREFIX!r}"
    if len(body) < MIN_SECRET_CHARACTERS:
        return f"needs at least {MIN_SECRET_CHARACTERS} characters after {TOKEN_PREFIX!r}"
    if len(set(body)) < MIN_DISTINCT_CHARACTERS:
        return (
            f"too little variety (fewer than {MIN_DISTINCT_CHARACTERS} different characters): "
            "not a random secret"
        )
    return None


def _check_name_and_role(name: str, role: str) -> None:
    if role not in ROLES:
        raise TokenError(f"--role {role!r}: expected one of {', '.join(ROLES)}")
    if not _NAME.fullmatch(name):
        raise TokenError(
            "--name must be 1-128 letters, digits or . _ @ - starting with a letter or digit"
        )


def create_token(engine: sa.Engine, *, name: str, role: str) -> str:
    """A new token for ``name`` with ``role``; returns the token (shown once)."""
    _check_name_and_role(name, role)
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


def ensure_token(engine: sa.Engine, *, name: str, role: str, token: str) -> str:
    """Make ``token`` (a secret chosen outside, see :func:`token_weakness`) the secret of the
    token ``name`` with ``role``. Returns "present" when it already was, "created" when no token
    had that name, "replaced" when the name held another secret or role (which stops working).

    Idempotent, and safe when several processes run it at once (a lost insert race is re-read).
    Raises :class:`TokenError` when the secret is another token's.
    """
    _check_name_and_role(name, role)
    digest = hash_token(token)
    t = api_tokens.c
    for _ in range(_ENSURE_TRIES):
        try:
            with engine.begin() as conn:
                row = conn.execute(
                    sa.select(t.id, t.role, t.token_sha256, t.revoked_at).where(t.name == name)
                ).first()
                if (
                    row is not None
                    and row.token_sha256 == digest
                    and row.role == role
                    and row.revoked_at is None
                ):
                    return "present"
                holder = conn.execute(
                    sa.select(t.name).where(t.token_sha256 == digest, t.name != name)
                ).first()
                if holder is not None:
                    raise TokenError(f"that secret is already the token {holder.name!r}")
                values = {"role": role, "token_sha256": digest, "created_at": utcnow()}
                if row is None:
                    conn.execute(api_tokens.insert().values(name=name, **values))
                    return "created"
                conn.execute(
                    api_tokens.update().where(t.id == row.id).values(revoked_at=None, **values)
                )
                return "replaced"
        except sa.exc.IntegrityError:
            continue  # another process inserted first: read again
    raise TokenError(f"the token {name!r} kept changing while it was being ensured")


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
