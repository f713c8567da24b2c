"""An embedded deployment (SQLite + local store) in a temporary directory."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from outbox.db import open_database
from outbox.settings import Settings
from relay.stores.local import LocalStore


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    (tmp_path / "staging").mkdir()
    return dataclasses.replace(
        Settings(),
        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        artifact_store_url=f"file://{tmp_path / 'store'}",
        staging_dir=tmp_path / "staging",
        worker_scratch_dir=tmp_path / "scratch",
        job_max_attempts=2,
        job_lease_seconds=30,
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[sa.Engine]:
    engine = open_database(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def store(settings: Settings) -> LocalStore:
    return LocalStore(Path(settings.store.bucket))
