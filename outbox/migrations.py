"""Schema migrations: the numbered files in ``sql/<dialect>/`` applied in order and recorded.

Layout: ``sql/mysql/NNN_name.sql`` (MySQL 8 / MariaDB 10.6+) and ``sql/sqlite/NNN_name.sql``
(the embedded default), the same numbers and names in both. ``upgrade`` applies the files of the
engine's dialect in number order; each file is split on lines holding only ``;;`` and executed
statement by statement. ``schema_migrations`` records version, name and the file's sha256 once
the whole file has run, so a version listed there is applied completely. A recorded file whose
checksum changed is refused (edit a schema by adding a new file).

SQLite: each file runs in one transaction (``BEGIN IMMEDIATE``) together with its record; a
failing statement rolls the whole file back and nothing is recorded.

MySQL/MariaDB: DDL commits implicitly, so a file cannot be rolled back. Every statement that
succeeds is recorded in ``schema_migration_steps`` (version, statement number, the statement's
sha256); when a statement fails, the ones before it stay applied and recorded, the version stays
out of ``schema_migrations``, and the next ``db upgrade`` skips the recorded statements and
resumes at the failed one (fix it in place; a recorded statement that changed is refused). The
steps of a version are deleted once it is recorded. A named server lock per database
(``GET_LOCK``) makes two concurrent ``db upgrade`` runs apply each file once.

Versions 001 and 002 were recorded with the checksums of the MySQL files when they lived at the
top of ``sql/`` (on both backends): those checksums are accepted for those two versions and
rewritten to the current file's: the schema they describe is the one the current files create
(a test upgrades databases created that way and compares them with fresh ones).
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

LOCK_PREFIX: Final = "cmd_migrate_"
LOCK_TIMEOUT_SECONDS: Final = 60
DIALECT_DIRS: Final[dict[str, str]] = {"mysql": "mysql", "mariadb": "mysql", "sqlite": "sqlite"}
_FILE_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
_SEPARATOR = re.compile(r"^\s*;;\s*$", re.MULTILINE)
_EARLIER_CHECKSUMS: Final[dict[str, frozenset[str]]] = {
    "001": frozenset({"22a66de8b746fabe6e85888a52ea60e23c0a8480225776f92d1ffccf3f4b4833"}),
    "002": frozenset({"7c2df960ed0a30fb7146c29aa5d2248b7965dc59255efca419db54e7f48d1c32"}),
}

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
schema_migration_steps = sa.Table(
    "schema_migration_steps",
    sa.MetaData(),
    sa.Column("version", sa.String(16), primary_key=True),
    sa.Column("statement", sa.Integer, primary_key=True),
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

_CREATE_STEPS_MYSQL = """
CREATE TABLE IF NOT EXISTS schema_migration_steps (
    version    VARCHAR(16) NOT NULL,
    statement  INT         NOT NULL,
    checksum   CHAR(64)    NOT NULL,
    applied_at DATETIME(6) NOT NULL,
    CONSTRAINT pk_schema_migration_steps PRIMARY KEY (version, statement)
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


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def locate_sql_dir() -> Path:
    """``outbox/_sql`` in an installed wheel; the repository's ``sql/`` in a checkout."""
    packaged = Path(__file__).resolve().parent / "_sql"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / "sql"
    if checkout.is_dir():
        return checkout
    raise MigrationError(f"schema files not found (looked in {packaged} and {checkout})")


def dialect_dir_name(engine: sa.Engine) -> str:
    """The ``sql/`` subdirectory holding this engine's files (``mysql`` or ``sqlite``)."""
    name = DIALECT_DIRS.get(engine.dialect.name)
    if name is None:
        raise MigrationError(
            f"unsupported database {engine.dialect.name!r} (use MySQL, MariaDB or SQLite)"
        )
    return name


def discover_migrations(sql_dir: Path | None = None, *, dialect: str = "mysql") -> list[Migration]:
    """Every ``NNN_name.sql`` of ``dialect`` (a directory under ``sql_dir``) in version order;
    duplicate versions are refused."""
    directory = (sql_dir or locate_sql_dir()) / dialect
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
    """Labels of the migrations not applied completely yet (all of them on an empty database)."""
    migrations = discover_migrations(sql_dir, dialect=dialect_dir_name(engine))
    with engine.connect() as conn:
        applied = read_applied(conn)
    return [m.label for m in migrations if m.version not in applied]


def _check_unchanged(migration: Migration, applied: dict[str, str]) -> None:
    recorded = applied.get(migration.version)
    if recorded is not None and recorded != migration.checksum:
        raise MigrationError(
            f"schema file {migration.path.name} changed after it was applied "
            "(add a new numbered file instead of editing an applied one)"
        )


def _adopt_earlier_checksums(
    conn: sa.Connection, migrations: list[Migration], applied: dict[str, str]
) -> dict[str, str]:
    """Rewrite the records of 001/002 made with the checksums of their earlier location."""
    adopted = dict(applied)
    for migration in migrations:
        recorded = applied.get(migration.version)
        earlier = _EARLIER_CHECKSUMS.get(migration.version, frozenset())
        if recorded is None or recorded == migration.checksum or recorded not in earlier:
            continue
        conn.execute(
            schema_migrations.update()
            .where(schema_migrations.c.version == migration.version)
            .where(schema_migrations.c.checksum == recorded)
            .values(checksum=migration.checksum)
        )
        adopted[migration.version] = migration.checksum
        log.info("schema_migration_checksum_updated", version=migration.version)
    return adopted


def _record(conn: sa.Connection, migration: Migration) -> None:
    conn.execute(
        schema_migrations.insert().values(
            version=migration.version,
            name=migration.name,
            checksum=migration.checksum,
            applied_at=_now(),
        )
    )


def _failure(migration: Migration, number: int, exc: sa.exc.DBAPIError) -> MigrationError:
    first_line = str(exc.orig).splitlines()[0] if exc.orig else str(exc).splitlines()[0]
    return MigrationError(
        f"schema file {migration.path.name}, statement {number} failed: {first_line}"
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
            conn.execute(sa.text(_CREATE_STEPS_MYSQL))
            conn.commit()
            applied = _adopt_earlier_checksums(conn, migrations, read_applied(conn))
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
    # DDL commits implicitly on MySQL: each statement that succeeds is recorded as a step, so
    # a failure leaves an exact account of what took effect and a re-run resumes after it.
    steps = schema_migration_steps.c
    done = {
        row.statement: row.checksum
        for row in conn.execute(
            sa.select(steps.statement, steps.checksum).where(steps.version == migration.version)
        )
    }
    conn.commit()
    for number, statement in enumerate(migration.statements(), start=1):
        digest = _digest(statement)
        recorded = done.get(number)
        if recorded == digest:
            continue
        if recorded is not None:
            raise MigrationError(
                f"schema file {migration.path.name}, statement {number} changed after it was "
                "applied (a failed file resumes where it stopped: edit only the failed statement "
                "and those after it)"
            )
        try:
            conn.exec_driver_sql(statement)
        except sa.exc.DBAPIError as exc:
            conn.rollback()
            raise _failure(migration, number, exc) from exc
        conn.execute(
            schema_migration_steps.insert().values(
                version=migration.version, statement=number, checksum=digest, applied_at=_now()
            )
        )
        conn.commit()
    _record(conn, migration)
    conn.execute(schema_migration_steps.delete().where(steps.version == migration.version))
    conn.commit()
    log.info("schema_migration_applied", version=migration.version, name=migration.name)


def _begin_immediate(conn: sa.Connection) -> None:
    """Make sure the SQLite transaction is open and holds the write lock. Engines from
    :func:`outbox.db.create_database_engine` already began with ``BEGIN IMMEDIATE``; pysqlite's
    default mode opens no transaction before DDL, so one is opened here."""
    if not conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _upgrade_sqlite(engine: sa.Engine, migrations: list[Migration]) -> list[str]:
    with engine.begin() as conn:
        _begin_immediate(conn)
        migrations_metadata.create_all(conn)
        applied = _adopt_earlier_checksums(conn, migrations, read_applied(conn))
    for migration in migrations:
        _check_unchanged(migration, applied)
    applied_now: list[str] = []
    for migration in migrations:
        if migration.version in applied:
            continue
        with engine.begin() as conn:  # one file and its record: all or nothing
            _begin_immediate(conn)
            if migration.version in read_applied(conn):  # another process was first
                continue
            for number, statement in enumerate(migration.statements(), start=1):
                try:
                    conn.exec_driver_sql(statement)
                except sa.exc.DBAPIError as exc:
                    raise _failure(migration, number, exc) from exc
            _record(conn, migration)
        applied_now.append(migration.label)
        log.info("schema_migration_applied", version=migration.version, name=migration.name)
    return applied_now


def upgrade(engine: sa.Engine, sql_dir: Path | None = None) -> list[str]:
    """Bring the schema up to date from ``sql_dir`` (default: the shipped files); returns the
    labels applied now (empty when up to date)."""
    dialect = dialect_dir_name(engine)
    migrations = discover_migrations(sql_dir, dialect=dialect)
    if dialect == "sqlite":
        return _upgrade_sqlite(engine, migrations)
    return _upgrade_mysql(engine, migrations)
