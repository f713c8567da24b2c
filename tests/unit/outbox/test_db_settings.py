"""DB_TIMEOUT_SECONDS: parsed by the settings object and handed to PyMySQL; how SQLite
transactions begin."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from outbox.db import connect_for_reading, create_database_engine
from outbox.settings import Settings, SettingsError

MYSQL_URL = "mysql+pymysql://user:pw@db.invalid:3306/app"


def test_the_default_timeout_outlasts_the_longest_legitimate_wait() -> None:
    settings = Settings.from_env({})
    assert settings.db_timeout_seconds == 180  # analyze's named lock waits up to 120 s


def test_the_timeout_is_read_from_the_environment_and_validated() -> None:
    assert Settings.from_env({"DB_TIMEOUT_SECONDS": "7"}).db_timeout_seconds == 7
    with pytest.raises(SettingsError, match="DB_TIMEOUT_SECONDS"):
        Settings.from_env({"DB_TIMEOUT_SECONDS": "0"})
    with pytest.raises(SettingsError, match="DB_TIMEOUT_SECONDS"):
        Settings.from_env({"DB_TIMEOUT_SECONDS": "soon"})


class _Captured(Exception):
    """Raised instead of connecting, once the connection arguments are seen."""


def test_mysql_connections_get_read_and_write_timeouts() -> None:
    settings = Settings.from_env({"DATABASE_URL": MYSQL_URL, "DB_TIMEOUT_SECONDS": "9"})
    engine = create_database_engine(settings)
    seen: dict[str, Any] = {}

    @event.listens_for(engine, "do_connect")
    def _capture(_dialect: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
        seen.update(params)
        raise _Captured

    try:
        with pytest.raises(_Captured):
            engine.connect()  # never reaches the network
    finally:
        engine.dispose()
    assert seen["read_timeout"] == 9
    assert seen["write_timeout"] == 9
    assert seen["connect_timeout"] == 10


def test_sqlite_readers_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    settings = Settings.from_env({"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"})
    engine = create_database_engine(settings)
    try:
        with engine.begin() as setup:
            setup.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            setup.exec_driver_sql("INSERT INTO t VALUES (1)")
        with engine.begin() as writer:  # BEGIN IMMEDIATE: holds the write lock
            writer.exec_driver_sql("INSERT INTO t VALUES (2)")
            started = time.monotonic()
            with connect_for_reading(engine) as reader:
                seen = reader.exec_driver_sql("SELECT count(*) FROM t").scalar()
            assert seen == 1  # the last committed state, at once
            assert time.monotonic() - started < 5  # not the 30 s busy timeout
    finally:
        engine.dispose()
