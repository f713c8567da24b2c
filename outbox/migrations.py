"""Schema migrations: the numbered files in ``sql/`` applied in order and recorded.

MySQL/MariaDB: each ``sql/NNN_name.sql`` is split on lines holding only ``;;`` and executed
statement by statement; ``schema_migrations`` records version, name and the file's sha256. A
named server lock per database (``GET_LOCK``) makes two concurrent ``db upgrade`` runs apply
each file once.
A recorded file whose checksum changed is refused (edit a schema by adding a new file).

SQLite (the embedded default): the tables are created from :data:`outbox.tables.metadata`, which
mirrors ``sql/``, the audit views from :mod:`outbox.audit.views`, and every file's version is
recorded as applied.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import sqlalchemy as sa
import structlog

from domain.errors import UserFacingError
from outbox.audit.views import create_sqlite_views
from outbox.tables import metadata

LOCK_PREFIX: Final = "cmd_migrate_"
LOCK_TIMEOUT_SECONDS: Final = 60
_FILE_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
_SEPARATOR = re.compile(r"^\s*;;\s*$", re.MULTILINE)

log = structlog.get_logger()

migrations_metadata = sa.MetaData()
schema_migrations = sa.Table(
    "schema_migrations",
    migrations_metadata,
    sa.Column("version", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("checksum", sa.String(64), nullable=False),
    sa.Column("applied_at", sa.DateTime(), nullable=False),
)

_CREATE_MYSQL = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    VARCHAR(16)  NOT NULL,
    name       VARCHAR(255) NOT NULL,
    checksum   CHAR(64)     NOT NULL,
    applied_at DATETIME(6)  NOT NULL,
    CONSTRAINT pk_schema_migrations PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
"""


class MigrationError(UserFacingError):
    """The schema cannot be brought up to date (changed file, lock timeout, failed statement)."""


@dataclass(frozen=True)
class Migration:
    version: str  # "001"
    name: str  # "core_tables"
    path: Path
    checksum: str  # sha256 of the file's bytes

    @property
    def label(self) -> str:
        return f"{self.version}_{self.name}"

    def statements(self) -> list[str]:
        text = self.path.read_text(encoding="utf-8")
        chunks = (_strip_comments(chunk) for chunk in _SEPARATOR.split(text))
        return [chunk for chunk in chunks if chunk]


def _strip_comments(chunk: str) -> str:
    lines = [line for line in chunk.splitlines() if not line.lstrip().startswith("--")]
    return "\n".join(lines).strip()


def locate_sql_dir() -> Path:
    """``outbox/_sql`` in an installed wheel; the repository's ``sql/`` in a checkout."""
    packaged = Path(__file__).resolve().parent / "_sql"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / "sql"
    if checkout.is_dir():
        return checkout
    raise MigrationError(f"schema files not found (looked in {packaged} and {checkout})")


def discover_migrations(sql_dir: Path | None = None) -> list[Migration]:
    """Every ``NNN_name.sql`` in version order; duplicate versions are refused."""
    directory = sql_dir or locate_sql_dir()
    found: dict[str, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            continue
        version, name = match.groups()
        if version in found:
            raise MigrationError(f"two schema files share version {version} in {directory}")
        checksum = hashlib.sha256(path.read_bytes()).hexdigest()
        found[version] = Migration(version, name, path, checksum)
    return [found[v] for v in sorted(found)]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def read_applied(conn: sa.Connection) -> dict[str, str]:
    """version -> checksum of what is recorded; empty when nothing was ever applied."""
    if not sa.inspect(conn).has_table("schema_migrations"):
        return {}
    rows = conn.execute(sa.select(schema_migrations.c.version, schema_migrations.c.checksum))
    return {row.version: row.checksum for row in rows}


def find_pending(engine: sa.Engine, sql_dir: Path | None = None) -> list[str]:
    """Labels of the migrations not applied yet (all of them on an empty database)."""
    with engine.connect() as conn:
        applied = read_applied(conn)
    return [m.label for m in discover_migrations(sql_dir) if m.version not in applied]


def _check_unchanged(migration: Migration, applied: dict[str, str]) -> None:
    recorded = applied.get(migration.version)
    if recorded is not None and recorded != migration.checksum:
        raise MigrationError(
            f"schema file {migration.path.name} changed after it was applied "
            "(add a new numbered file instead of editing an applied one)"
        )


def _record(conn: sa.Connection, migration: Migration) -> None:
    conn.execute(
        schema_migrations.insert().values(
            version=migration.version,
            name=migration.name,
            checksum=migration.checksum,
            applied_at=_now(),
        )
    )


def server_lock_name(prefix: str, database: str | None, *parts: str) -> str:
    """A ``GET_LOCK`` name (at most 64 characters) private to one database: MySQL's named locks
    are server-wide, and unrelated databases on one server must not wait for each other."""
    text = "\x00".join((database or "", *parts))
    return prefix + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _upgrade_mysql(engine: sa.Engine, migrations: list[Migration]) -> list[str]:
    applied_now: list[str] = []
    with engine.connect() as conn:
        lock = server_lock_name(LOCK_PREFIX, conn.execute(sa.text("SELECT DATABASE()")).scalar())
        got = conn.execute(
            sa.text("SELECT GET_LOCK(:name, :timeout)"),
            {"name": lock, "timeout": LOCK_TIMEOUT_SECONDS},
        ).scalar()
        conn.commit()
        if got != 1:
            raise MigrationError(
                f"another 'db upgrade' holds the schema lock (waited {LOCK_TIMEOUT_SECONDS}s)"
            )
        try:
            conn.execute(sa.text(_CREATE_MYSQL))
            conn.commit()
            applied = read_applied(conn)
            conn.commit()
            for migration in migrations:
                _check_unchanged(migration, applied)
                if migration.version in applied:
                    continue
                _apply_mysql(conn, migration)
                applied_now.append(migration.label)
        finally:
            conn.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": lock})
            conn.commit()
    return applied_now


def _apply_mysql(conn: sa.Connection, migration: Migration) -> None:
    # DDL commits implicitly on MySQL: statements run one by one, the record comes last.
    for number, statement in enumerate(migration.statements(), start=1):
        try:
            conn.exec_driver_sql(statement)
        except sa.exc.DBAPIError as exc:
            conn.rollback()
            first_line = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
            raise MigrationError(
                f"schema file {migration.path.name}, statement {number} failed: {first_line}"
            ) from exc
    _record(conn, migration)
    conn.commit()
    log.info("schema_migration_applied", version=migration.version, name=migration.name)


def _upgrade_sqlite(engine: sa.Engine, migrations: list[Migration]) -> list[str]:
    with engine.begin() as conn:
        migrations_metadata.create_all(conn)
        applied = read_applied(conn)
        metadata.create_all(conn)
        applied_now: list[str] = []
        for migration in migrations:
            if migration.version in applied:
                continue
            _record(conn, migration)
            applied_now.append(migration.label)
        if applied_now:  # the SQLite twins of the views in sql/ (date arithmetic differs)
            create_sqlite_views(conn)
    return applied_now


def upgrade(engine: sa.Engine, sql_dir: Path | None = None) -> list[str]:
    """Bring the schema up to date; returns the labels applied now (empty when up to date)."""
    migrations = discover_migrations(sql_dir)
    if engine.dialect.name == "sqlite":
        return _upgrade_sqlite(engine, migrations)
    if engine.dialect.name in ("mysql", "mariadb"):
        return _upgrade_mysql(engine, migrations)
    raise MigrationError(f"unsupported database {engine.dialect.name!r} (use MySQL or SQLite)")
