"""Give each test session its own MariaDB/MySQL database on the server the machine runs.

The server address comes from ``TEST_MYSQL_URL`` (a SQLAlchemy URL to a server; default
``mysql+pymysql://root@127.0.0.1:3306/test``). Only where that is unset and unreachable and a
Docker engine exists do we fall back to testcontainers. A missing server is a failure, not a skip.
"""

from __future__ import annotations

import os
import secrets
import shutil

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

DEFAULT_SERVER_URL = "mysql+pymysql://root@127.0.0.1:3306/test"


def server_url() -> URL:
    return make_url(os.environ.get("TEST_MYSQL_URL", DEFAULT_SERVER_URL))


def reachable(url: URL) -> str | None:
    """None when reachable, else the error text."""
    engine = sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001
        return str(exc).splitlines()[0]
    finally:
        engine.dispose()
    return None


def docker_available() -> bool:
    return shutil.which("docker") is not None and os.path.exists("/var/run/docker.sock")


def create_database(base: URL, prefix: str = "cmd_test") -> URL:
    name = f"{prefix}_{secrets.token_hex(4)}"
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
    engine.dispose()
    return base.set(database=name)


def drop_database(url: URL) -> None:
    engine = sa.create_engine(url.set(database="information_schema"))
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{url.database}`"))
    engine.dispose()
