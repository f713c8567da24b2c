"""Relay unit fixtures: the embedded backends (SQLite file, local directory store)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from outbox.db import open_database
from outbox.settings import Settings
from relay.stores.local import LocalStore


@pytest.fixture
def local_settings(tmp_path: Path) -> Settings:
    (tmp_path / "staging").mkdir()
    return Settings.from_env(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "ARTIFACT_STORE_URL": f"file://{tmp_path / 'objects'}",
            "STAGING_DIR": str(tmp_path / "staging"),
            "RELAY_ID": "relay-test",
            "RELAY_BACKOFF_BASE_SECONDS": "0",
            "RELAY_BACKOFF_MAX_SECONDS": "0",
            "RELAY_MAX_ATTEMPTS": "3",
        }
    )


@pytest.fixture
def sqlite_engine(local_settings: Settings) -> Iterator[sa.Engine]:
    engine = open_database(local_settings)
    yield engine
    engine.dispose()


@pytest.fixture
def local_store(local_settings: Settings) -> LocalStore:
    return LocalStore(Path(local_settings.store.bucket))
