"""The relay and a MariaDB that stops answering mid-flip (DB_TIMEOUT_SECONDS): the drain fails
instead of hanging, and once the server answers again the next drain finishes every record with
its history complete (the unrecorded attempts become 'abandoned' when their leases expire)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from domain.model import ArtifactFormat
from outbox.db import create_database_engine
from outbox.migrations import upgrade
from outbox.reports import load_report
from outbox.settings import Settings
from outbox.tables import OUTBOX_DONE, OUTCOME_ABANDONED, OUTCOME_ALREADY_PRESENT, UPLOADED
from relay.stores.base import UploadRequest, UploadResult
from relay.stores.local import LocalStore
from relay.worker import RelayWorker
from tests.integration.outbox.stall_proxy import StallProxy
from tests.unit.relay.staged import commit_analysis, read_all

pytestmark = [pytest.mark.mariadb]

LIVENESS_SECONDS = 90  # far above the 3 s timeout: the drain must not block forever
LEASE_SECONDS = 2


class StallingStore(LocalStore):
    """Uploads for real; the first upload leaves the database hung (its flip meets it)."""

    def __init__(self, root: Path, proxy: StallProxy) -> None:
        super().__init__(root)
        self._proxy = proxy
        self.stalled = False

    def upload(self, request: UploadRequest) -> UploadResult:
        result = super().upload(request)
        if not self.stalled:
            self.stalled = True
            self._proxy.stall()
        return result


@pytest.fixture
def proxy(mysql_url: str) -> Iterator[StallProxy]:
    url = make_url(mysql_url)
    with StallProxy(url.host or "127.0.0.1", url.port or 3306) as running:
        yield running


def _settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "ARTIFACT_STORE_URL": f"file://{tmp_path / 'objects'}",
            "STAGING_DIR": str(tmp_path / "staging"),
            "DB_TIMEOUT_SECONDS": "3",  # generous: a loaded machine must not trip it early
            "RELAY_LEASE_SECONDS": str(LEASE_SECONDS),
            "RELAY_CONCURRENCY": "1",
        }
    )


def _drain_in_thread(worker: RelayWorker) -> list[BaseException]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            worker.drain()
        except BaseException as exc:  # noqa: BLE001 (handed to the test)
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(LIVENESS_SECONDS)
    assert not thread.is_alive(), "the relay blocked on a hung database"
    return errors


def test_relay_fails_fast_on_a_hung_database_and_recovers_when_it_answers(
    mysql_url: str, proxy: StallProxy, tmp_path: Path
) -> None:
    direct = _settings(mysql_url, tmp_path)
    direct_engine = create_database_engine(direct)
    upgrade(direct_engine)
    for index in range(3):
        commit_analysis(direct_engine, direct, f"hung-{index}", {ArtifactFormat.CSV: b"a,b\n1,2\n"})
    through_proxy = make_url(mysql_url).set(host="127.0.0.1", port=proxy.port)
    settings = _settings(through_proxy.render_as_string(hide_password=False), tmp_path)
    engine = create_database_engine(settings)
    store = StallingStore(tmp_path / "objects", proxy)
    worker = RelayWorker(engine, store, settings)
    try:
        errors = _drain_in_thread(worker)
        assert store.stalled
        assert len(errors) == 1
        assert isinstance(errors[0], sa.exc.OperationalError)
        stuck = read_all(direct_engine)
        assert {row["state"] for row in stuck["outbox"]} == {"pending"}  # no flip committed
        assert stuck["history"] == []

        proxy.resume()
        time.sleep(LEASE_SECONDS + 0.5)  # the leases of the failed flips expire
        assert _drain_in_thread(worker) == []
    finally:
        worker.close()
        engine.dispose()
    state = read_all(direct_engine)
    assert {row["state"] for row in state["outbox"]} == {OUTBOX_DONE}
    assert {row["status"] for row in state["downloads"]} == {UPLOADED}
    outcomes = [row["outcome"] for row in state["history"]]
    assert outcomes.count(OUTCOME_ABANDONED) == 3  # one per attempt never recorded
    assert len(outcomes) == 6
    assert OUTCOME_ALREADY_PRESENT in outcomes  # uploaded before the hang: not sent twice
    assert list(direct.staging_dir.iterdir()) == []
    for index in range(3):
        report = load_report(direct_engine, f"hung-{index}")
        assert report is not None
        assert {entry["status"] for entry in report["report"]["downloads"]} == {UPLOADED}
    direct_engine.dispose()
