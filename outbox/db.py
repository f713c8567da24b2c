"""Engines: MySQL/MariaDB through PyMySQL, or the embedded SQLite file.

``open_database`` is what commands use: on SQLite it creates the schema itself (so ``analyze``
works with no setup); on MySQL it refuses a missing or outdated schema with a one-line error
pointing at ``clean-my-data db upgrade``. ``create_database_engine`` skips that check (it is what
``db upgrade`` itself uses).

Conventions every connection gets:
- on MySQL, socket read/write timeouts (``DB_TIMEOUT_SECONDS``): a statement whose server stops
  answering fails with "Lost connection" instead of hanging; the pool discards that connection
  and ``pool_pre_ping`` checks the next one before use, so callers recover on their next try;
- datetimes are naive UTC; MySQL sessions run with ``time_zone = '+00:00'`` so TIMESTAMP columns
  read and write UTC;
- SQLite runs in WAL mode with foreign keys on and a busy timeout, and every transaction starts
  with ``BEGIN IMMEDIATE`` (one writer at a time, no lock-upgrade deadlocks), except on a
  connection from :func:`connect_for_reading`: a plain ``BEGIN``, so readers (the HTTP API's
  GETs) neither wait for the write lock nor hold it;
- JSON columns are written by :func:`outbox.jsontext.dumps_json` (compact, UTF-8, no NaN).
"""

from __future__ import annotations

import sqlite3
import time
import weakref
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url

from domain.display import mask_credentials
from domain.errors import UserFacingError
from outbox.jsontext import dumps_json
from outbox.migrations import find_pending, upgrade
from outbox.settings import Settings

SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
_READ_ONLY: Final = "clean_my_data_read_only"
MYSQL_CONNECT_TIMEOUT_SECONDS: Final = 10


# Room in one statement for everything but the stored report (other columns, SQL text).
STATEMENT_OVERHEAD_BYTES: Final = 64 * 1024
_packet_limits: weakref.WeakKeyDictionary[sa.Engine, int | None] = weakref.WeakKeyDictionary()


class DatabaseError(UserFacingError):
    """The database cannot be used: unreachable, unsupported, or its schema is not ready."""


def _is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _use_wal(cursor: sqlite3.Cursor) -> None:
    """Put the file in WAL mode (kept by the file: only its first connection changes it).
    Connections opened at once on a new file (several processes starting together) can get
    "database is locked" from the switch at once, without the busy timeout: that is tried again
    until the busy timeout has passed."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    pause = 0.005
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.25)


def _configure_sqlite(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _use_wal(cursor)
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        reading = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


def connect_for_reading(engine: sa.Engine) -> sa.Connection:
    """A connection that only reads (it must not write: on SQLite it takes no write lock)."""
    return engine.connect().execution_options(**{_READ_ONLY: True})


def _configure_mysql(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SET time_zone = '+00:00'")
        cursor.close()


def create_database_engine(settings: Settings) -> sa.Engine:
    """An engine for ``settings.database_url`` without checking the schema."""
    try:
        url = make_url(settings.database_url)
    except sa.exc.ArgumentError:
        raise DatabaseError("DATABASE_URL is not a valid SQLAlchemy URL") from None
    if _is_sqlite(url):
        database = url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, json_serializer=dumps_json)
        _configure_sqlite(engine)
        return engine
    if url.get_backend_name() in ("mysql", "mariadb"):
        engine = sa.create_engine(
            url,
            pool_pre_ping=True,
            pool_recycle=3600,
            json_serializer=dumps_json,
            connect_args={
                "connect_timeout": MYSQL_CONNECT_TIMEOUT_SECONDS,
                "charset": "utf8mb4",
                # A server that stops answering fails the statement (error 2013, the connection
                # is invalidated and replaced) instead of blocking the caller forever.
                "read_timeout": settings.db_timeout_seconds,
                "write_timeout": settings.db_timeout_seconds,
            },
        )
        _configure_mysql(engine)
        return engine
    raise DatabaseError(
        f"DATABASE_URL uses {url.get_backend_name()!r}; expected mysql+pymysql:// or sqlite://"
    )


def describe_url(engine: sa.Engine) -> str:
    """The engine's URL without its credentials (userinfo or query), for messages and logs."""
    return mask_credentials(engine.url.render_as_string(hide_password=False))


def stored_json_budget(conn: sa.Connection) -> int | None:
    """The largest JSON text one statement may carry on this server, or None (no limit: SQLite).

    MySQL refuses a statement longer than ``max_allowed_packet``; the driver escapes a string
    inside it, which may double it (every ``"`` of JSON text becomes ``\\"``). The server's
    value is read once per engine."""
    engine = conn.engine
    if engine.dialect.name not in ("mysql", "mariadb"):
        return None
    if engine not in _packet_limits:
        packet = int(conn.exec_driver_sql("SELECT @@max_allowed_packet").scalar_one())
        _packet_limits[engine] = max(0, packet - STATEMENT_OVERHEAD_BYTES) // 2
    return _packet_limits[engine]


def open_database(settings: Settings) -> sa.Engine:
    """An engine whose schema is ready (created on SQLite; checked on MySQL)."""
    engine = create_database_engine(settings)
    try:
        if engine.dialect.name == "sqlite":
            upgrade(engine)
            return engine
        pending = find_pending(engine)
    except sa.exc.OperationalError as exc:
        engine.dispose()
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "unknown error"
        raise DatabaseError(f"cannot use the database {describe_url(engine)}: {reason}") from None
    if pending:
        engine.dispose()
        raise DatabaseError(
            f"the database schema is not up to date (missing {', '.join(pending)}): "
            "run `clean-my-data db upgrade`"
        )
    return engine
