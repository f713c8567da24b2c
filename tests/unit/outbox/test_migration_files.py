"""The schema files: layout, naming, statement splitting, checksums; SQLite upgrade (no server)."""

from __future__ import annotations

import dataclasses
import shutil
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from outbox.audit.views import VIEW_NAMES
from outbox.db import DatabaseError, create_database_engine, open_database
from outbox.migrations import (
    DIALECT_DIRS,
    MigrationError,
    discover_migrations,
    find_pending,
    locate_sql_dir,
    upgrade,
)
from outbox.settings import Settings
from outbox.tables import metadata


def _applied(engine: sa.Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT version, checksum FROM schema_migrations ORDER BY 1"))
        return [(r.version, r.checksum) for r in rows]


def test_every_dialect_has_the_same_numbered_files() -> None:
    root = locate_sql_dir()
    dialects = sorted(set(DIALECT_DIRS.values()))
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == dialects
    labels = {d: [m.label for m in discover_migrations(dialect=d)] for d in dialects}
    assert labels["mysql"][:2] == ["001_core_tables", "002_audit_views"]
    assert all(found == labels["mysql"] for found in labels.values()), labels
    assert not list(root.glob("*.sql"))  # nothing outside a dialect directory


@pytest.mark.parametrize("dialect", ["mysql", "sqlite"])
def test_the_first_file_creates_every_table_of_its_time(dialect: str) -> None:
    statements = discover_migrations(dialect=dialect)[0].statements()
    tables = [s for s in statements if s.startswith("CREATE TABLE")]
    assert len(tables) == 4
    assert all(";;" not in s and not s.startswith("--") for s in statements)
    assert all(s.startswith(("CREATE TABLE", "CREATE INDEX")) for s in statements)


def test_duplicate_versions_are_refused_and_other_files_ignored(tmp_path: Path) -> None:
    files = tmp_path / "sqlite"
    files.mkdir()
    (files / "001_a.sql").write_text("SELECT 1")
    (files / "README.sql.txt").write_text("x")
    (files / "notes.sql").write_text("x")
    assert [m.label for m in discover_migrations(tmp_path, dialect="sqlite")] == ["001_a"]
    (files / "001_b.sql").write_text("SELECT 2")
    with pytest.raises(MigrationError, match="share version 001"):
        discover_migrations(tmp_path, dialect="sqlite")


@pytest.mark.parametrize("configured", [True, False], ids=["app-engine", "plain-engine"])
def test_sqlite_upgrade_runs_the_files_and_is_idempotent(tmp_path: Path, configured: bool) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    engine = (
        create_database_engine(dataclasses.replace(Settings(), database_url=url))
        if configured
        else sa.create_engine(url)
    )
    expected = [m.label for m in discover_migrations(dialect="sqlite")]
    assert find_pending(engine) == expected
    assert upgrade(engine) == expected
    assert upgrade(engine) == []
    assert find_pending(engine) == []
    assert _applied(engine) == [
        (m.version, m.checksum) for m in discover_migrations(dialect="sqlite")
    ]
    inspector = sa.inspect(engine)
    assert set(inspector.get_table_names()) == set(metadata.tables) | {"schema_migrations"}
    assert set(inspector.get_view_names()) == set(VIEW_NAMES)
    engine.dispose()


@pytest.mark.parametrize("configured", [True, False], ids=["app-engine", "plain-engine"])
def test_sqlite_a_failing_file_is_rolled_back_whole_and_not_recorded(
    tmp_path: Path, configured: bool
) -> None:
    sql_dir = tmp_path / "sql"
    shutil.copytree(locate_sql_dir(), sql_dir)
    (sql_dir / "sqlite" / "900_broken.sql").write_text(
        "CREATE TABLE half_a (x INT)\n;;\nCREATE INDEX ix_half ON half_a (x)\n;;\nCREATE TABLEX b\n"
    )
    url = f"sqlite:///{tmp_path / 'x.db'}"
    engine = (
        create_database_engine(dataclasses.replace(Settings(), database_url=url))
        if configured
        else sa.create_engine(url)
    )

    with pytest.raises(MigrationError, match=r"900_broken.sql, statement 3 failed") as raised:
        upgrade(engine, sql_dir)

    assert "\n" not in str(raised.value)
    shipped = [m.version for m in discover_migrations(sql_dir, dialect="sqlite")][:-1]
    assert [v for v, _ in _applied(engine)] == shipped  # the files before it stay
    assert "half_a" not in sa.inspect(engine).get_table_names()
    assert find_pending(engine, sql_dir) == ["900_broken"]

    (sql_dir / "sqlite" / "900_broken.sql").write_text(
        "CREATE TABLE half_a (x INT)\n;;\nCREATE INDEX ix_half ON half_a (x)\n"
    )
    assert upgrade(engine, sql_dir) == ["900_broken"]
    assert "half_a" in sa.inspect(engine).get_table_names()
    engine.dispose()


def test_sqlite_a_changed_applied_file_is_refused(tmp_path: Path) -> None:
    sql_dir = tmp_path / "sql"
    shutil.copytree(locate_sql_dir(), sql_dir)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade(engine, sql_dir)
    first = sql_dir / "sqlite" / "001_core_tables.sql"
    first.write_text(first.read_text() + "\n-- edited\n")

    with pytest.raises(MigrationError, match=r"001_core_tables\.sql changed after it was applied"):
        upgrade(engine, sql_dir)
    engine.dispose()


def test_unsupported_urls_are_one_line_errors() -> None:
    with pytest.raises(DatabaseError, match="expected mysql"):
        create_database_engine(dataclasses.replace(Settings(), database_url="postgresql://x/y"))
    with pytest.raises(DatabaseError, match="not a valid"):
        open_database(dataclasses.replace(Settings(), database_url="::nonsense::"))


# each round a new file: connections opening a new file at once once got "database is locked"
# from the switch to WAL in about one round in thirty on a loaded machine
@pytest.mark.parametrize("round_", range(12))
def test_sqlite_upgrades_from_three_threads_at_once_apply_each_file_once(
    tmp_path: Path, round_: int
) -> None:
    url = f"sqlite:///{tmp_path / f'x{round_}.db'}"
    engines = [
        create_database_engine(dataclasses.replace(Settings(), database_url=url)) for _ in range(3)
    ]
    barrier = threading.Barrier(len(engines))
    results: list[object] = [None] * len(engines)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = upgrade(engines[index])
        except Exception as exc:  # noqa: BLE001 (asserted below)
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(engines))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert all(isinstance(r, list) for r in results), results
    applied = sorted(label for r in results if isinstance(r, list) for label in r)
    assert applied == [m.label for m in discover_migrations(dialect="sqlite")]
    assert len(_applied(engines[0])) == len(applied)
    for engine in engines:
        engine.dispose()
