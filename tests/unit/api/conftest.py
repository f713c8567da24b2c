"""The embedded default for the public API's tests: SQLite, a staging directory and a
``file://`` store, all in the test's temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest

import clean_my_data

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "sales_dirty.csv"


@pytest.fixture
def settings(tmp_path: Path) -> clean_my_data.Settings:
    staging = tmp_path / "staging"
    staging.mkdir()
    return clean_my_data.Settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        staging_dir=staging,
        artifact_store_url=f"file://{tmp_path / 'artifacts'}",
    )
