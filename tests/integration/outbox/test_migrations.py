"""``db upgrade`` on MariaDB: applies every file once, twice is a no-op, two at once is safe; a
failed file resumes at the failed statement; open_database refuses an outdated schema. The schema
itself is compared with outbox.tables.metadata in test_schema_agreement.py (both dialects)."""

from __future__ import annotations

import dataclasses
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from domain.errors import UserFacingError
from outbox.audit.views import VIEW_NAMES
from outbox.db import DatabaseError, create_database_engine, open_database
from outbox.migrations import (
    MigrationError,
    discover_migrations,
    find_pending,
    locate_sql_dir,
    upgrade,
)
from outbox.settings import Settings
from outbox.tables import metadata

pytestmark = [pytest.mark.mariadb]


def _settings(url: str) -> Settings:
    return dataclasses.replace(Settings(), database_url=url)


def _applied(engine: sa.Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT version, checksum FROM schema_migrations ORDER BY 1"))
        return [(r.version, r.checksum) for r in rows]


def test_upgrade_applies_every_file_once_and_twice_is_a_no_op(mysql_url: str) -> None:
    engine = create_database_engine(_settings(mysql_url))
    expected = [m.label for m in discover_migrations()]

    assert upgrade(engine) == expected
    assert upgrade(engine) == []

    assert _applied(engine) == [(m.version, m.checksum) for m in discover_migrations()]
    assert set(sa.inspect(engine).get_table_names()) >= set(metadata.tables)
    engine.dispose()


def test_two_upgrades_at_once_apply_each_file_exactly_once(mysql_url: str) -> None:
    engines = [create_database_engine(_settings(mysql_url)) for _ in range(3)]
    barrier = threading.Barrier(len(engines))
    results: list[Any] = [None] * len(engines)

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
        thread.join(timeout=120)

    assert all(isinstance(r, list) for r in results), results
    applied = [label for r in results for label in r]
    assert sorted(applied) == [m.label for m in discover_migrations()]
    assert len(_applied(engines[0])) == len(discover_migrations())
    for engine in engines:
        engine.dispose()


def test_a_changed_applied_file_is_refused(mysql_url: str, tmp_path: Path) -> None:
    sql_dir = tmp_path / "sql"
    shutil.copytree(locate_sql_dir(), sql_dir)
    engine = create_database_engine(_settings(mysql_url))
    upgrade(engine, sql_dir)
    first = sorted((sql_dir / "mysql").glob("001_*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited\n")

    with pytest.raises(MigrationError, match="changed after it was applied"):
        upgrade(engine, sql_dir)
    engine.dispose()


def test_a_new_file_is_applied_on_the_next_upgrade(mysql_url: str, tmp_path: Path) -> None:
    sql_dir = tmp_path / "sql"
    shutil.copytree(locate_sql_dir(), sql_dir)
    engine = create_database_engine(_settings(mysql_url))
    upgrade(engine, sql_dir)
    (sql_dir / "mysql" / "900_extra.sql").write_text(
        "-- test\nCREATE TABLE extra_a (x INT)\n;;\nCREATE TABLE extra_b (y INT)\n"
    )

    assert upgrade(engine, sql_dir) == ["900_extra"]
    assert {"extra_a", "extra_b"} <= set(sa.inspect(engine).get_table_names())
    engine.dispose()


def _steps(engine: sa.Engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT version, statement FROM schema_migration_steps"))
        return sorted((r.version, r.statement) for r in rows)


def test_a_failed_file_is_not_recorded_and_resumes_at_the_failed_statement(
    mysql_url: str, tmp_path: Path
) -> None:
    sql_dir = tmp_path / "sql"
    (sql_dir / "mysql").mkdir(parents=True)
    broken = sql_dir / "mysql" / "001_broken.sql"
    broken.write_text(
        "CREATE TABLE ok_a (x INT)\n;;\nCREATE TABLE ok_b (y INT)\n;;\nCREATE TABLEX nope\n"
    )
    engine = create_database_engine(_settings(mysql_url))

    with pytest.raises(MigrationError, match=r"001_broken.sql, statement 3 failed") as raised:
        upgrade(engine, sql_dir)

    assert "\n" not in str(raised.value)
    assert _applied(engine) == []  # the version is not applied
    assert _steps(engine) == [("001", 1), ("001", 2)]  # exactly what took effect
    assert find_pending(engine, sql_dir) == ["001_broken"]
    assert {"ok_a", "ok_b"} <= set(sa.inspect(engine).get_table_names())

    # Fixing the failed statement: the two that ran are skipped (re-running them would fail).
    broken.write_text(
        "CREATE TABLE ok_a (x INT)\n;;\nCREATE TABLE ok_b (y INT)\n;;\nCREATE TABLE ok_c (z INT)\n"
    )
    assert upgrade(engine, sql_dir) == ["001_broken"]
    assert [v for v, _ in _applied(engine)] == ["001"]
    assert _steps(engine) == []
    assert "ok_c" in sa.inspect(engine).get_table_names()
    engine.dispose()


def test_a_statement_that_ran_and_then_changed_is_refused(mysql_url: str, tmp_path: Path) -> None:
    sql_dir = tmp_path / "sql"
    (sql_dir / "mysql").mkdir(parents=True)
    broken = sql_dir / "mysql" / "001_broken.sql"
    broken.write_text("CREATE TABLE ok_a (x INT)\n;;\nCREATE TABLEX nope\n")
    engine = create_database_engine(_settings(mysql_url))
    with pytest.raises(MigrationError, match="statement 2 failed"):
        upgrade(engine, sql_dir)

    broken.write_text("CREATE TABLE ok_a (x BIGINT)\n;;\nCREATE TABLE ok_b (y INT)\n")
    with pytest.raises(MigrationError, match="statement 1 changed after it was applied"):
        upgrade(engine, sql_dir)
    assert _applied(engine) == []
    assert _steps(engine) == [("001", 1)]
    engine.dispose()


def test_open_database_refuses_a_missing_schema_then_accepts_it(mysql_url: str) -> None:
    settings = _settings(mysql_url)
    with pytest.raises(DatabaseError, match="run `clean-my-data db upgrade`") as raised:
        open_database(settings)
    assert isinstance(raised.value, UserFacingError)
    assert "\n" not in str(raised.value)

    bootstrap = create_database_engine(settings)
    upgrade(bootstrap)
    bootstrap.dispose()
    engine = open_database(settings)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT @@session.time_zone")).scalar() == "+00:00"
    engine.dispose()


def test_open_database_names_an_unreachable_server_without_its_password() -> None:
    settings = _settings("mysql+pymysql://someone:s3cret@127.0.0.1:1/nowhere")
    with pytest.raises(DatabaseError, match="cannot use the database") as raised:
        open_database(settings)
    assert "s3cret" not in str(raised.value)


def test_sqlite_gets_the_same_tables_and_records_the_versions(tmp_path: Path) -> None:
    settings = _settings(f"sqlite:///{tmp_path / 'nested' / 'db.sqlite3'}")
    engine = open_database(settings)  # creates the directory and the schema
    inspector = sa.inspect(engine)
    assert set(inspector.get_table_names()) == set(metadata.tables) | {"schema_migrations"}
    for table in metadata.sorted_tables:
        assert {i["name"] for i in inspector.get_indexes(table.name)} >= {
            i.name for i in table.indexes
        }
    assert _applied(engine) == [
        (m.version, m.checksum) for m in discover_migrations(dialect="sqlite")
    ]
    assert set(inspector.get_view_names()) == set(VIEW_NAMES)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert upgrade(engine) == []
    engine.dispose()
