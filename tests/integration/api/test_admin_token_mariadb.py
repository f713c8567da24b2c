"""API_ADMIN_TOKEN on MariaDB: replicas starting together ensure ONE admin token, idempotently."""

from __future__ import annotations

import dataclasses
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from clean_my_data.commands.serve import bootstrap_admin_token
from outbox.access import find_principal, hash_token
from outbox.db import create_database_engine, open_database
from outbox.migrations import upgrade
from outbox.settings import Settings
from outbox.tables import api_tokens

pytestmark = [pytest.mark.mariadb]

REPLICAS = 6


@pytest.fixture
def settings(mysql_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=mysql_url, staging_dir=tmp_path)


@pytest.fixture
def engine(settings: Settings) -> Iterator[sa.Engine]:
    migrator = create_database_engine(settings)
    upgrade(migrator)
    migrator.dispose()
    engine = open_database(settings)  # what `serve` opens: the schema is checked, not made
    yield engine
    engine.dispose()


def rows(engine: sa.Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(api_tokens.c.name, api_tokens.c.role, api_tokens.c.token_sha256)
        )
        return [(row.name, row.role, row.token_sha256) for row in found]


def start_replicas(settings: Settings, count: int) -> list[str | None]:
    """``count`` serve start-ups at once, each with its own engine (its own process's pool)."""
    barrier = threading.Barrier(count)
    outcomes: list[str | None] = [None] * count
    errors: list[BaseException] = []

    def replica(index: int) -> None:
        engine = create_database_engine(settings)
        try:
            barrier.wait(timeout=30)
            outcomes[index] = bootstrap_admin_token(engine, settings)
        except BaseException as exc:  # noqa: BLE001 (reported by the test)
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=replica, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return outcomes


def test_replicas_starting_together_create_one_token_then_find_it(
    engine: sa.Engine, settings: Settings
) -> None:
    secret = "cmd_" + secrets.token_urlsafe(32)
    configured = dataclasses.replace(settings, api_admin_token=secret)

    outcomes = start_replicas(configured, REPLICAS)
    assert outcomes.count("created") == 1, outcomes
    assert outcomes.count("present") == REPLICAS - 1, outcomes
    assert rows(engine) == [("admin", "admin", hash_token(secret))]

    assert start_replicas(configured, REPLICAS) == ["present"] * REPLICAS  # a restart
    assert rows(engine) == [("admin", "admin", hash_token(secret))]
    principal = find_principal(engine, secret)
    assert principal is not None
    assert principal.role == "admin"


def test_a_rotated_secret_replaces_the_old_one_across_replicas(
    engine: sa.Engine, settings: Settings
) -> None:
    old = "cmd_" + secrets.token_urlsafe(32)
    assert bootstrap_admin_token(engine, dataclasses.replace(settings, api_admin_token=old)) == (
        "created"
    )
    new = "cmd_" + secrets.token_urlsafe(32)
    outcomes = start_replicas(dataclasses.replace(settings, api_admin_token=new), REPLICAS)
    assert outcomes.count("replaced") >= 1, outcomes
    assert set(outcomes) <= {"replaced", "present"}, outcomes
    assert rows(engine) == [("admin", "admin", hash_token(new))]
    assert find_principal(engine, old) is None
    assert find_principal(engine, new) is not None
