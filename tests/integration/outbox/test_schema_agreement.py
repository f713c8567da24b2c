"""One schema, two dialects: the files under ``sql/mysql`` and ``sql/sqlite``, each migrated from
nothing, reflect to the tables, columns, keys and indexes of ``outbox/tables.py``; a database
created at version 002 by the earlier layout upgrades to exactly a fresh one; ``db upgrade``
applies a new file on both backends and is safe to run twice.

Every check reads whatever tables ``outbox.tables.metadata`` and the files define: a new
migration needs no edit here."""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from clean_my_data.main import main
from outbox import migrations
from outbox.audit.views import VIEW_NAMES
from outbox.db import create_database_engine
from outbox.migrations import discover_migrations, locate_sql_dir, upgrade
from outbox.settings import Settings
from outbox.tables import metadata

AT_002 = Path(__file__).resolve().parent / "schema_at_002"
BOOKKEEPING = {"schema_migrations", "schema_migration_steps"}


@pytest.fixture(params=[pytest.param("mariadb", marks=pytest.mark.mariadb), "sqlite"])
def new_url(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """A factory of URLs to empty databases on the backend under test."""
    counter = iter(range(100))

    def make() -> str:
        if request.param == "mariadb":
            from tests.support import mariadb

            url = mariadb.create_database(request.getfixturevalue("mysql_server_url"))
            request.addfinalizer(lambda: mariadb.drop_database(url))
            return url.render_as_string(hide_password=False)
        return f"sqlite:///{tmp_path / f'db{next(counter)}.sqlite3'}"

    return make


def _engine(url: str) -> sa.Engine:
    return create_database_engine(dataclasses.replace(Settings(), database_url=url))


def _type_key(column_type: sa.types.TypeEngine[Any]) -> str:
    """Canonical type names; MariaDB's JSON is LONGTEXT and its BOOLEAN is TINYINT(1)."""
    name = type(column_type).__name__.upper()
    if isinstance(column_type, sa.JSON) or name == "LONGTEXT":
        return "json"
    if isinstance(column_type, sa.Boolean) or name == "TINYINT":
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


def _declared(dialect: sa.Dialect) -> dict[str, Any]:
    """What outbox/tables.py says, in the shape :func:`_reflected` returns."""
    tables: dict[str, Any] = {}
    for table in metadata.sorted_tables:
        tables[table.name] = {
            "columns": [
                (c.name, _type_key(c.type.dialect_impl(dialect)), c.nullable) for c in table.columns
            ],
            "primary_key": [c.name for c in table.primary_key.columns],
            "unique": {
                (c.name, tuple(col.name for col in c.columns))
                for c in table.constraints
                if isinstance(c, sa.UniqueConstraint)
            },
            "indexes": {
                (i.name, tuple(col.name for col in i.columns), bool(i.unique))
                for i in table.indexes
            },
            "foreign_keys": {
                (
                    fk.name,
                    tuple(fk.column_keys),
                    fk.referred_table.name,
                    tuple(e.column.name for e in fk.elements),
                    (fk.ondelete or "").upper(),
                )
                for fk in table.foreign_key_constraints
            },
            "checks": {
                c.name: _normalise_sql(str(c.sqltext))
                for c in table.constraints
                if isinstance(c, sa.CheckConstraint)
            },
        }
    return tables


def _reflected(engine: sa.Engine) -> dict[str, Any]:
    """Every table of the database (bookkeeping aside), as the server reports it."""
    inspector = sa.inspect(engine)
    tables: dict[str, Any] = {}
    for name in sorted(set(inspector.get_table_names()) - BOOKKEEPING):
        columns = inspector.get_columns(name)
        uniques = {
            (u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(name)
        }
        json_columns = {c["name"] for c in columns if _type_key(c["type"]) == "json"}
        tables[name] = {
            "columns": [(c["name"], _type_key(c["type"]), c["nullable"]) for c in columns],
            "primary_key": inspector.get_pk_constraint(name)["constrained_columns"],
            "unique": uniques,
            "indexes": {
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(name)
                if i["name"] not in {u for u, _ in uniques}  # MySQL: a UNIQUE is an index too
            },
            "foreign_keys": {
                (
                    fk["name"],
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                    (fk.get("options", {}).get("ondelete") or "").upper(),
                )
                for fk in inspector.get_foreign_keys(name)
            },
            "checks": {
                c["name"]: _normalise_sql(c["sqltext"])
                for c in inspector.get_check_constraints(name)
                if c["name"] not in json_columns  # MariaDB's implicit json_valid() checks
            },
        }
    return tables


def _views(engine: sa.Engine) -> dict[str, list[str]]:
    inspector = sa.inspect(engine)
    return {v: [c["name"] for c in inspector.get_columns(v)] for v in inspector.get_view_names()}


def _applied(engine: sa.Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT version, name, checksum FROM schema_migrations"))
        return sorted((r.version, r.name, r.checksum) for r in rows)


def test_a_fresh_database_has_exactly_the_tables_of_outbox_tables(
    new_url: Callable[[], str],
) -> None:
    engine = _engine(new_url())
    upgrade(engine)

    declared = _declared(engine.dialect)
    reflected = _reflected(engine)
    assert sorted(reflected) == sorted(declared)
    for name, expected in declared.items():
        for aspect, value in expected.items():
            assert reflected[name][aspect] == value, f"{engine.dialect.name}: {name} {aspect}"
    assert set(_views(engine)) == set(VIEW_NAMES)
    engine.dispose()


@pytest.mark.mariadb
def test_both_dialects_define_views_with_the_same_columns(mysql_url: str, tmp_path: Path) -> None:
    found = {}
    for url in (mysql_url, f"sqlite:///{tmp_path / 'v.sqlite3'}"):
        engine = _engine(url)
        upgrade(engine)
        found[engine.dialect.name] = _views(engine)
        engine.dispose()
    assert found["mysql"] == found["sqlite"]
    assert set(found["sqlite"]) == set(VIEW_NAMES)


def _create_at_002(engine: sa.Engine) -> None:
    """The database as the earlier layout left it at version 002 (checksums included)."""
    if engine.dialect.name == "sqlite":
        text = (AT_002 / "sqlite.sql").read_text(encoding="utf-8")
        statements = [s.strip() for s in re.split(r"^;;$", text, flags=re.MULTILINE)]
        with engine.begin() as conn:
            for statement in statements:
                body = "\n".join(
                    line for line in statement.splitlines() if not line.startswith("--")
                )
                conn.exec_driver_sql(body)
    else:
        assert upgrade(engine, AT_002) == ["001_core_tables", "002_audit_views"]


THROWAWAY = {
    "mysql": "CREATE TABLE throwaway (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, note TEXT)"
    "\n;;\nALTER TABLE downloads ADD COLUMN throwaway_note VARCHAR(10) NULL\n",
    "sqlite": "CREATE TABLE throwaway (id INTEGER NOT NULL PRIMARY KEY, note TEXT)"
    "\n;;\nALTER TABLE downloads ADD COLUMN throwaway_note VARCHAR(10) NULL\n",
}


def _with_throwaway(tmp_path: Path) -> Path:
    """A copy of the shipped files plus ``900_throwaway.sql`` in each dialect."""
    sql_dir = tmp_path / "sql"
    shutil.copytree(locate_sql_dir(), sql_dir)
    for dialect, text in THROWAWAY.items():
        (sql_dir / dialect / "900_throwaway.sql").write_text(text)
    return sql_dir


@pytest.mark.parametrize("with_new_file", [False, True], ids=["shipped", "plus-900"])
def test_a_database_created_at_002_upgrades_to_exactly_a_fresh_one(
    new_url: Callable[[], str], tmp_path: Path, with_new_file: bool
) -> None:
    sql_dir = _with_throwaway(tmp_path) if with_new_file else None
    old = _engine(new_url())
    _create_at_002(old)
    recorded_before = _applied(old)
    assert [v for v, _, _ in recorded_before] == ["001", "002"]

    applied = upgrade(old, sql_dir)
    fresh = _engine(new_url())
    upgrade(fresh, sql_dir)

    labels = [m.label for m in discover_migrations(sql_dir)]
    assert applied == labels[2:]  # only what came after 002 ran
    assert ("900_throwaway" in applied) == with_new_file
    assert _reflected(old) == _reflected(fresh)
    assert _views(old) == _views(fresh)
    assert _applied(old) == _applied(fresh)  # the earlier checksums were rewritten
    assert _applied(old) != recorded_before
    assert upgrade(old, sql_dir) == []
    old.dispose()
    fresh.dispose()


def test_db_upgrade_applies_a_new_file_and_twice_is_safe(
    new_url: Callable[[], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = new_url()
    sql_dir = tmp_path / "sql"
    shutil.copytree(locate_sql_dir(), sql_dir)
    monkeypatch.setattr(migrations, "locate_sql_dir", lambda: sql_dir)
    monkeypatch.setenv("DATABASE_URL", url)

    assert main(["db", "upgrade"]) == 0
    assert main(["db", "upgrade"]) == 0
    assert "already up to date" in capsys.readouterr().out

    for dialect, text in THROWAWAY.items():
        (sql_dir / dialect / "900_throwaway.sql").write_text(text)
    assert main(["db", "upgrade"]) == 0
    assert "applied 900_throwaway" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert "already up to date" in capsys.readouterr().out

    engine = _engine(url)
    inspector = sa.inspect(engine)
    assert "throwaway" in inspector.get_table_names()
    assert "throwaway_note" in {c["name"] for c in inspector.get_columns("downloads")}
    assert [v for v, _, _ in _applied(engine)][-1] == "900"
    engine.dispose()
