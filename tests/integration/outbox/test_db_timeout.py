"""DB_TIMEOUT_SECONDS: a MariaDB that stops answering fails the statement instead of blocking
forever, and the engine works again once the server answers."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from outbox.db import create_database_engine
from outbox.settings import Settings
from tests.integration.outbox.stall_proxy import StallProxy

pytestmark = [pytest.mark.mariadb]

LIVENESS_SECONDS = 60  # far above the 1 s timeout: the statement must not block forever


@pytest.fixture
def proxy(mysql_url: str) -> Iterator[StallProxy]:
    url = make_url(mysql_url)
    with StallProxy(url.host or "127.0.0.1", url.port or 3306) as running:
        yield running


@pytest.fixture
def engine(mysql_url: str, proxy: StallProxy) -> Iterator[sa.Engine]:
    through_proxy = make_url(mysql_url).set(host="127.0.0.1", port=proxy.port)
    settings = dataclasses.replace(
        Settings(),
        database_url=through_proxy.render_as_string(hide_password=False),
        db_timeout_seconds=1,
    )
    created = create_database_engine(settings)
    yield created
    created.dispose()


def _run_in_thread(work: sa.Connection) -> list[BaseException]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work.execute(sa.text("SELECT 1")).scalar_one()
        except BaseException as exc:  # noqa: BLE001 (handed to the test)
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(LIVENESS_SECONDS)
    assert not thread.is_alive(), "the statement blocked on a hung server"
    return errors


def test_a_hung_server_fails_the_statement_and_the_engine_recovers(
    engine: sa.Engine, proxy: StallProxy
) -> None:
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
        proxy.stall()
        errors = _run_in_thread(conn)
        assert len(errors) == 1
        assert isinstance(errors[0], sa.exc.OperationalError)
        assert errors[0].connection_invalidated  # the dead connection is not reused
        assert "Lost connection" in str(errors[0])
    proxy.resume()
    with engine.connect() as conn:  # same engine, a fresh connection
        assert conn.execute(sa.text("SELECT 2")).scalar_one() == 2


def test_a_pooled_connection_broken_while_idle_is_replaced_on_checkout(
    engine: sa.Engine, proxy: StallProxy
) -> None:
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    proxy.stall()  # the pooled connection dies (its ping gets no answer) ...
    with pytest.raises(sa.exc.OperationalError), engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))  # ... and no new one is accepted yet
    proxy.resume()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 3")).scalar_one() == 3
