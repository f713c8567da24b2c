"""DB_TIMEOUT_SECONDS: parsed by the settings object and handed to PyMySQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from outbox.db import create_database_engine
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
