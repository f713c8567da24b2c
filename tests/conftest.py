"""Shared fixtures: a private MariaDB database per session and a real S3 server (SeaweedFS).

Tests that need a service fail loudly when it cannot be reached; they never skip. Every test
that uses a service fixture carries the service's marker (checked at collection), so
``pytest -m "not mariadb and not s3"`` runs without any service.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Generator, Iterator

import pytest
import structlog
from sqlalchemy.engine import URL

from tests.support import mariadb, seaweed

# The fixtures that reach a service, and the marker a test using them must carry.
SERVICE_FIXTURES: dict[str, str] = {
    "mysql_server_url": "mariadb",
    "mysql_url": "mariadb",
    "s3_server": "s3",
}


def missing_service_markers(item: pytest.Item) -> list[str]:
    """The service markers ``item`` lacks for the service fixtures it uses (directly or not)."""
    used = getattr(item, "fixturenames", ())
    needed = {marker for fixture, marker in SERVICE_FIXTURES.items() if fixture in used}
    return sorted(marker for marker in needed if item.get_closest_marker(marker) is None)


_running: list[pytest.Item] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    _running.append(item)
    try:
        return (yield)
    finally:
        _running.pop()


def pytest_fixture_setup(fixturedef: pytest.FixtureDef[object]) -> None:
    """The same rule for fixtures requested at run time (``request.getfixturevalue``)."""
    if not _running:
        return
    item = _running[-1]
    names = {fixturedef.argname, *fixturedef.argnames}
    for fixture, marker in SERVICE_FIXTURES.items():
        if fixture in names and item.get_closest_marker(marker) is None:
            pytest.fail(f"{item.nodeid} uses {fixture} without @pytest.mark.{marker}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse to run when a test reaches a service without saying so by its marker."""
    unmarked = [
        f"{item.nodeid} (needs {', '.join(missing)})"
        for item in items
        if (missing := missing_service_markers(item))
    ]
    if unmarked:
        raise pytest.UsageError(
            "tests using a service fixture without its marker:\n  " + "\n  ".join(unmarked)
        )


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
