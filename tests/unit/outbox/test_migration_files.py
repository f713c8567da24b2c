"""The schema files: naming, statement splitting, checksums; SQLite upgrade (no server)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import sqlalchemy as sa

from outbox.db import DatabaseError, create_database_engine, open_database
from outbox.migrations import MigrationError, discover_migrations, find_pending, upgrade
from outbox.settings import Settings
from outbox.tables import metadata


def test_the_repository_files_are_found_in_order_and_split_into_statements() -> None:
    migrations = discover_migrations()
    assert migrations[0].label == "001_core_tables"
    assert [m.version for m in migrations] == sorted(m.version for m in migrations)
    statements = migrations[0].statements()
    assert all(s.startswith("CREATE TABLE") for s in statements)
    created = [s for m in migrations for s in m.statements() if s.startswith("CREATE TABLE")]
    assert len(created) == len(metadata.tables)
    assert all(";;" not in s and "--" not in s.splitlines()[0] for s in statements)


def test_duplicate_versions_are_refused_and_other_files_ignored(tmp_path: Path) -> None:
    (tmp_path / "001_a.sql").write_text("SELECT 1")
    (tmp_path / "README.sql.txt").write_text("x")
    (tmp_path / "notes.sql").write_text("x")
    assert [m.label for m in discover_migrations(tmp_path)] == ["001_a"]
    (tmp_path / "001_b.sql").write_text("SELECT 2")
    with pytest.raises(MigrationError, match="share version 001"):
        discover_migrations(tmp_path)


def test_sqlite_upgrade_creates_the_tables_and_is_idempotent(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    assert find_pending(engine) == [m.label for m in discover_migrations()]
    assert upgrade(engine) == [m.label for m in discover_migrations()]
    assert upgrade(engine) == []
    assert find_pending(engine) == []
    assert set(sa.inspect(engine).get_table_names()) >= set(metadata.tables)


def test_unsupported_urls_are_one_line_errors() -> None:
    with pytest.raises(DatabaseError, match="expected mysql"):
        create_database_engine(dataclasses.replace(Settings(), database_url="postgresql://x/y"))
    with pytest.raises(DatabaseError, match="not a valid"):
        open_database(dataclasses.replace(Settings(), database_url="::nonsense::"))
