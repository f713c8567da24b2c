"""Audit unit tests: an SQLite database (schema + views), a fake object store, tmp staging."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from outbox.db import create_database_engine
from outbox.migrations import upgrade
from outbox.settings import Settings
from tests.unit.audit.rows import FakeStore, Seeder


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    staging = tmp_path / "staging"
    staging.mkdir()
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        artifact_store_url="s3://bucket/pfx",
        staging_dir=staging,
        app_env="test",
        relay_lease_seconds=60,
        relay_orphan_grace_seconds=3600,
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[sa.Engine]:
    engine = create_database_engine(settings)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def seeder(engine: sa.Engine, settings: Settings, store: FakeStore) -> Seeder:
    return Seeder(engine, settings, store)
