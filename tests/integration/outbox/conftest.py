"""One suite, two backends: every test here runs on a fresh MariaDB database and on SQLite."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from outbox.db import open_database
from outbox.migrations import upgrade
from outbox.settings import Settings
from tests.integration.outbox.support import Backend


@pytest.fixture(params=[pytest.param("mariadb", marks=pytest.mark.mariadb), "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    staging = tmp_path / "staging"
    staging.mkdir()
    if request.param == "mariadb":
        url = request.getfixturevalue("mysql_url")
    else:
        url = f"sqlite:///{tmp_path / 'outbox.sqlite3'}"
    settings = dataclasses.replace(
        Settings(),
        database_url=url,
        staging_dir=staging,
        artifact_store_url="s3://cmd-bucket/base",
        app_env="test",
    )
    from outbox.db import create_database_engine

    bootstrap = create_database_engine(settings)
    upgrade(bootstrap)
    bootstrap.dispose()
    engine: sa.Engine = open_database(settings)
    try:
        yield Backend(request.param, engine, settings)
    finally:
        engine.dispose()


@pytest.fixture
def engine(backend: Backend) -> sa.Engine:
    """The backend's engine alone, on a database migrated to the latest schema."""
    return backend.engine
