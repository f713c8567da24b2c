"""Shared fixtures: a private MariaDB database per session and a real S3 server (SeaweedFS).

Tests that need a service fail loudly when it cannot be reached; they never skip.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
import structlog
from sqlalchemy.engine import URL

from tests.support import mariadb, seaweed


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    """Tests that run the CLI in-process configure structlog globally (level, renderer);
    restore the defaults so one test's LOG_LEVEL never hides another test's log events."""
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="session")
def mysql_server_url() -> Iterator[URL]:
    """A URL to a live MySQL/MariaDB server (not to a private database)."""
    url = mariadb.server_url()
    error = mariadb.reachable(url)
    if error is None:
        yield url
        return
    if "TEST_MYSQL_URL" not in os.environ and mariadb.docker_available():
        from testcontainers.mysql import MySqlContainer

        with MySqlContainer("mysql:8.4", dialect="pymysql") as container:
            yield URL.create(
                "mysql+pymysql",
                username="root",
                password=container.root_password,
                host=container.get_container_host_ip(),
                port=int(container.get_exposed_port(3306)),
                database="test",
            )
        return
    pytest.fail(f"MariaDB/MySQL needed but unreachable at {url.render_as_string()}: {error}")


@pytest.fixture
def mysql_url(mysql_server_url: URL) -> Iterator[str]:
    """A fresh, empty database for one test; dropped afterwards."""
    url = mariadb.create_database(mysql_server_url)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        mariadb.drop_database(url)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[seaweed.S3Server]:
    """A real S3 server: S3_TEST_ENDPOINT_URL if set, else SeaweedFS started here."""
    endpoint = os.environ.get("S3_TEST_ENDPOINT_URL")
    if endpoint:
        yield seaweed.S3Server(
            endpoint,
            os.environ.get("S3_TEST_ACCESS_KEY", seaweed.ACCESS_KEY),
            os.environ.get("S3_TEST_SECRET_KEY", seaweed.SECRET_KEY),
        )
        return
    try:
        server = seaweed.start_seaweed()
    except RuntimeError as exc:
        pytest.fail(f"S3 server needed but could not be started: {exc}")
    try:
        yield server
    finally:
        seaweed.stop_seaweed(server)


@pytest.fixture
def s3_bucket(s3_server: seaweed.S3Server) -> str:
    """A fresh bucket on the real S3 server."""
    name = f"cmd-test-{secrets.token_hex(4)}"
    client = s3_server.client()
    client.create_bucket(Bucket=name)
    return name
