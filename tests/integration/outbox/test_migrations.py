"""``db upgrade`` on MariaDB: applies every file once, twice is a no-op, two at once is safe; the
reflected schema equals outbox.tables.metadata; open_database refuses an outdated schema."""

from __future__ import annotations

import dataclasses
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from domain.errors import UserFacingError
from outbox.audit.views import VIEW_NAMES
from outbox.db import DatabaseError, create_database_engine, open_database
from outbox.migrations import MigrationError, discover_migrations, upgrade
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
    shutil.copytree(discover_migrations()[0].path.parent, sql_dir)
    engine = create_database_engine(_settings(mysql_url))
    upgrade(engine, sql_dir)
    first = sorted(sql_dir.glob("001_*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited\n")

    with pytest.raises(MigrationError, match="changed after it was applied"):
        upgrade(engine, sql_dir)
    engine.dispose()


def test_a_new_file_is_applied_on_the_next_upgrade(mysql_url: str, tmp_path: Path) -> None:
    sql_dir = tmp_path / "sql"
    shutil.copytree(discover_migrations()[0].path.parent, sql_dir)
    engine = create_database_engine(_settings(mysql_url))
    upgrade(engine, sql_dir)
    (sql_dir / "900_extra.sql").write_text(
        "-- test\nCREATE TABLE extra_a (x INT)\n;;\nCREATE TABLE extra_b (y INT)\n"
    )

    assert upgrade(engine, sql_dir) == ["900_extra"]
    assert {"extra_a", "extra_b"} <= set(sa.inspect(engine).get_table_names())
    engine.dispose()


def test_a_failing_statement_is_a_one_line_error_and_is_not_recorded(
    mysql_url: str, tmp_path: Path
) -> None:
    sql_dir = tmp_path / "sql"
    sql_dir.mkdir()
    (sql_dir / "001_broken.sql").write_text("CREATE TABLE ok_t (x INT)\n;;\nCREATE TABLEX nope\n")
    engine = create_database_engine(_settings(mysql_url))

    with pytest.raises(MigrationError, match=r"001_broken.sql, statement 2 failed") as raised:
        upgrade(engine, sql_dir)

    assert "\n" not in str(raised.value)
    assert _applied(engine) == []
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


# --- the reflected MariaDB schema equals outbox.tables.metadata -------------------------------


def _type_key(column_type: sa.types.TypeEngine[Any], *, reflected: bool) -> str:
    """Canonical type names; MariaDB's JSON is LONGTEXT, BOOLEAN is TINYINT(1)."""
    name = type(column_type).__name__.upper()
    if isinstance(column_type, sa.JSON) or (reflected and name == "LONGTEXT"):
        return "json"
    if isinstance(column_type, sa.Boolean) or (reflected and name == "TINYINT"):
        return "bool"
    if isinstance(column_type, sa.BigInteger) or name == "BIGINT":
        return "bigint"
    if isinstance(column_type, sa.Integer):
        return "int"
    if isinstance(column_type, sa.DateTime):
        return "datetime"
    if isinstance(column_type, sa.Text):
        return "text"
    if isinstance(column_type, sa.String):
        return f"string({column_type.length})"
    return name.lower()


def _normalise_sql(text: str) -> str:
    return re.sub(r"[\s`\"]", "", text).lower()


def test_reflected_schema_equals_the_table_definitions(mysql_url: str) -> None:
    engine = create_database_engine(_settings(mysql_url))
    upgrade(engine)
    inspector = sa.inspect(engine)
    reflected_tables = set(inspector.get_table_names()) - {"schema_migrations"}
    assert reflected_tables == set(metadata.tables)

    for table in metadata.sorted_tables:
        name = table.name
        columns = inspector.get_columns(name)
        assert [c["name"] for c in columns] == [c.name for c in table.columns], name
        for declared, found in zip(table.columns, columns, strict=True):
            where = f"{name}.{declared.name}"
            assert _type_key(found["type"], reflected=True) == _type_key(
                declared.type, reflected=False
            ), where
            assert found["nullable"] == declared.nullable, where
            if isinstance(declared.type, sa.JSON):
                assert type(found["type"]).__name__.upper() in ("JSON", "LONGTEXT"), where

        pk = inspector.get_pk_constraint(name)
        assert pk["constrained_columns"] == [c.name for c in table.primary_key.columns], name

        declared_uniques = {
            (c.name, tuple(col.name for col in c.columns))
            for c in table.constraints
            if isinstance(c, sa.UniqueConstraint) and not isinstance(c, sa.PrimaryKeyConstraint)
        }
        found_uniques = {
            (u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(name)
        }
        assert found_uniques == declared_uniques, name

        declared_indexes = {
            (i.name, tuple(col.name for col in i.columns), bool(i.unique)) for i in table.indexes
        }
        found_indexes = {
            (i["name"], tuple(i["column_names"]), bool(i["unique"]))
            for i in inspector.get_indexes(name)
            if i["name"] not in {u for u, _ in found_uniques}  # MySQL: UNIQUE is an index too
        }
        assert found_indexes == declared_indexes, name

        declared_fks = {
            (
                fk.name,
                tuple(fk.column_keys),
                fk.referred_table.name,
                tuple(e.column.name for e in fk.elements),
                (fk.ondelete or "").upper(),
            )
            for fk in table.foreign_key_constraints
        }
        found_fks = {
            (
                fk["name"],
                tuple(fk["constrained_columns"]),
                fk["referred_table"],
                tuple(fk["referred_columns"]),
                (fk.get("options", {}).get("ondelete") or "").upper(),
            )
            for fk in inspector.get_foreign_keys(name)
        }
        assert found_fks == declared_fks, name

        declared_checks = {
            c.name: _normalise_sql(str(c.sqltext))
            for c in table.constraints
            if isinstance(c, sa.CheckConstraint)
        }
        json_columns = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}
        found_checks = {
            c["name"]: _normalise_sql(c["sqltext"])
            for c in inspector.get_check_constraints(name)
            if c["name"] not in json_columns  # MariaDB's implicit json_valid() checks
        }
        assert found_checks == declared_checks, name
    engine.dispose()


def test_sqlite_gets_the_same_tables_and_records_the_versions(tmp_path: Path) -> None:
    settings = _settings(f"sqlite:///{tmp_path / 'nested' / 'db.sqlite3'}")
    engine = open_database(settings)  # creates the directory and the schema
    inspector = sa.inspect(engine)
    assert set(inspector.get_table_names()) == set(metadata.tables) | {"schema_migrations"}
    for table in metadata.sorted_tables:
        assert {i["name"] for i in inspector.get_indexes(table.name)} >= {
            i.name for i in table.indexes
        }
    assert [v for v, _ in _applied(engine)] == [m.version for m in discover_migrations()]
    assert set(inspector.get_view_names()) == set(VIEW_NAMES)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert upgrade(engine) == []
    engine.dispose()
