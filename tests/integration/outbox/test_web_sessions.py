"""Browser sessions in the database, on both backends: a login opens a new session for the
token's holder; it expires, closes on logout, and ends when its token is revoked."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from outbox.access import Principal, create_token, revoke_token
from outbox.tables import web_sessions
from outbox.web_sessions import close_session, find_session, open_session

T0 = datetime(2026, 3, 1, 12, 0, 0)


def _rows(engine: sa.Engine) -> list[sa.Row[tuple[str, str]]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(web_sessions.c.session_sha256, web_sessions.c.csrf)))


def test_a_session_authenticates_its_holder_until_it_expires(engine: sa.Engine) -> None:
    token = create_token(engine, name="ann", role="analyst")
    opened = open_session(engine, token, now=T0, ttl_seconds=3600)
    found = find_session(engine, opened.session_id, now=T0 + timedelta(minutes=59))
    assert found is not None
    assert found.principal == Principal("ann", "analyst")
    assert found.csrf == opened.csrf
    assert find_session(engine, opened.session_id, now=T0 + timedelta(hours=1)) is None
    assert find_session(engine, "not-a-session", now=T0) is None
    assert find_session(engine, "", now=T0) is None
    [row] = _rows(engine)
    assert opened.session_id not in row.session_sha256  # only its hash is stored
    assert token not in repr(row)


def test_each_login_is_a_new_session_and_expired_ones_are_deleted(engine: sa.Engine) -> None:
    token = create_token(engine, name="aud", role="auditor")
    first = open_session(engine, token, now=T0, ttl_seconds=60)
    second = open_session(engine, token, now=T0 + timedelta(minutes=5), ttl_seconds=60)
    assert second.session_id != first.session_id
    assert second.csrf != first.csrf
    assert len(_rows(engine)) == 1  # the first had expired: deleted by the second login
    close_session(engine, second.session_id)
    assert find_session(engine, second.session_id, now=T0 + timedelta(minutes=5)) is None
    assert _rows(engine) == []


def test_revoking_the_token_ends_its_sessions_and_no_one_elses(engine: sa.Engine) -> None:
    ann = create_token(engine, name="ann", role="analyst")
    bob = create_token(engine, name="bob", role="analyst")
    ann_sessions = [open_session(engine, ann, now=T0, ttl_seconds=3600) for _ in range(2)]
    bob_session = open_session(engine, bob, now=T0, ttl_seconds=3600)

    revoke_token(engine, "ann")

    for opened in ann_sessions:
        assert find_session(engine, opened.session_id, now=T0) is None
    assert len(_rows(engine)) == 1
    kept = find_session(engine, bob_session.session_id, now=T0)
    assert kept is not None
    assert kept.principal.name == "bob"
    # a new token under the same name does not revive the old sessions
    create_token(engine, name="ann", role="admin")
    assert find_session(engine, ann_sessions[0].session_id, now=T0) is None
