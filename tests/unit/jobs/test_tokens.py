"""API tokens: shown once, stored hashed, revoked by name."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from outbox.access import (
    TokenError,
    count_tokens,
    create_token,
    find_principal,
    hash_token,
    revoke_token,
)
from outbox.tables import api_tokens


def test_a_token_is_stored_only_as_its_hash_and_finds_its_holder(engine: sa.Engine) -> None:
    token = create_token(engine, name="ann", role="analyst")
    assert token.startswith("cmd_")
    assert len(token) > 40
    with engine.connect() as conn:
        stored = conn.execute(sa.select(api_tokens)).one()
    assert stored.token_sha256 == hash_token(token)
    assert token not in repr(tuple(stored))
    principal = find_principal(engine, token)
    assert principal is not None
    assert (principal.name, principal.role) == ("ann", "analyst")
    assert find_principal(engine, token + "x") is None
    assert find_principal(engine, "not-a-token") is None
    assert count_tokens(engine) == 1


def test_names_roles_and_revocation(engine: sa.Engine) -> None:
    token = create_token(engine, name="aud", role="auditor")
    with pytest.raises(TokenError, match="exists already"):
        create_token(engine, name="aud", role="admin")
    with pytest.raises(TokenError, match="--role"):
        create_token(engine, name="x", role="root")
    with pytest.raises(TokenError, match="--name"):
        create_token(engine, name="../x", role="admin")
    revoke_token(engine, "aud")
    assert find_principal(engine, token) is None
    assert count_tokens(engine) == 0
    with pytest.raises(TokenError, match="no token named"):
        revoke_token(engine, "aud")
