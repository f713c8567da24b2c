"""On MariaDB, ``requeue`` racing a re-run of the same analysis and the relay, many rounds:
no deadlock escapes, one live outbox record per download, every record's history complete."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from outbox.audit.requeue import Selection, requeue_downloads
from outbox.clock import utcnow
from outbox.db import create_database_engine, open_database
from outbox.migrations import upgrade
from outbox.persist import persist_analysis_report
from outbox.settings import Settings
from outbox.tables import OUTBOX_PENDING, OUTCOME_FAILED, UPLOAD_FAILED
from relay.claim import claim_batch
from relay.flip import flip_outcomes
from relay.records import AttemptReport
from relay.stores.local import LocalStore
from relay.verify import verify
from relay.worker import RelayWorker
from tests.integration.outbox.support import (
    Backend,
    build_final_object,
    download_rows,
    outbox_rows,
    stage_artifacts,
)

ROUNDS = 10


@pytest.fixture
def mariadb_backend(mysql_url: str, tmp_path: Path) -> Iterator[Backend]:
    staging = tmp_path / "staging"
    staging.mkdir()
    (tmp_path / "store").mkdir()
    settings = dataclasses.replace(
        Settings(),
        database_url=mysql_url,
        staging_dir=staging,
        artifact_store_url=f"file://{tmp_path / 'store'}",
        app_env="test",
        relay_max_attempts=1,
    )
    bootstrap = create_database_engine(settings)
    upgrade(bootstrap)
    bootstrap.dispose()
    engine = open_database(settings)
    try:
        yield Backend("mariadb", engine, settings)
    finally:
        engine.dispose()


def _commit(backend: Backend, analysis_id: str, content: bytes) -> None:
    artifacts = stage_artifacts(backend.settings, analysis_id, content)
    final = build_final_object(analysis_id, artifacts)
    persist_analysis_report(backend.engine, final, artifacts, backend.settings)


def _fail_every_upload(backend: Backend) -> None:
    """What the relay records when an upload fails for good: downloads end upload_failed."""
    settings = backend.settings
    records = claim_batch(
        backend.engine,
        volume=settings.staging_volume_id,
        owner="test-relay",
        batch_size=100,
        lease_seconds=60,
    )
    report = AttemptReport(
        outcome=OUTCOME_FAILED,
        started_at=utcnow(),
        duration_ms=0,
        error_class="access_denied",
        error_message="access denied",
    )
    flip_outcomes(backend.engine, [(r, report) for r in records], actor="test-relay")


def _run_at_once(jobs: dict[str, Callable[[], object]]) -> dict[str, Any]:
    barrier = threading.Barrier(len(jobs))
    results: dict[str, Any] = {}

    def run(name: str, job: Callable[[], object]) -> None:
        barrier.wait()
        try:
            results[name] = job()
        except Exception as exc:  # noqa: BLE001 (reported by the assertion below)
            results[name] = exc

    threads = [threading.Thread(target=run, args=item) for item in jobs.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _drain(backend: Backend, store: LocalStore) -> object:
    worker = RelayWorker(backend.engine, store, backend.settings)
    try:
        return worker.drain()
    finally:
        worker.close()


@pytest.mark.mariadb
def test_requeue_racing_a_rerun_and_the_relay_never_deadlocks_nor_duplicates(
    mariadb_backend: Backend,
) -> None:
    backend = mariadb_backend
    store = LocalStore(Path(backend.settings.store.bucket))
    for round_number in range(ROUNDS):
        analysis_id = f"requeue-race-{round_number}"
        _commit(backend, analysis_id, b"first")
        _fail_every_upload(backend)
        assert {r["status"] for r in download_rows(backend.engine, analysis_id).values()} == {
            UPLOAD_FAILED
        }
        rerun = stage_artifacts(backend.settings, analysis_id, b"second")
        final = build_final_object(analysis_id, rerun)

        results = _run_at_once(
            {
                "requeue": lambda a=analysis_id: requeue_downloads(
                    backend.engine,
                    backend.settings,
                    Selection(analysis_id=a),
                    reason="race test",
                    actor="tester",
                ),
                "rerun": lambda f=final, r=rerun: persist_analysis_report(
                    backend.engine, f, r, backend.settings
                ),
                "relay": lambda: _drain(backend, store),
            }
        )

        errors = {name: r for name, r in results.items() if isinstance(r, BaseException)}
        assert not errors, f"round {round_number}: {errors!r}"
        rows = download_rows(backend.engine, analysis_id)
        live = [r for r in outbox_rows(backend.engine, analysis_id) if r["state"] == OUTBOX_PENDING]
        live_ids = [r["download_id"] for r in live]
        assert len(live_ids) == len(set(live_ids)), f"round {round_number}: {live}"
        for record in live:
            row = rows[record["download_id"]]
            assert record["payload"]["staged_path"] == row["staged_path"]
            assert record["payload"]["sha256"] == row["sha256"]
    _drain(backend, store)
    problems = [
        p for p in verify(backend.engine, store, backend.settings).problems if p.invariant != 1
    ]
    assert problems == []
    with backend.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1
