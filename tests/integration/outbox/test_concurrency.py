"""Two transformers committing the same analysis at the same moment end with one report, one
row per download and exactly one live outbox record per download."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa
from structlog.testing import capture_logs

from domain.artifacts import WrittenArtifact
from outbox.persist import PersistResult, persist_analysis_report
from outbox.reports import load_report
from outbox.tables import OUTBOX_PENDING, OUTBOX_SUPERSEDED, analysis_reports, outbox_attempts
from tests.integration.outbox.support import (
    Backend,
    build_final_object,
    count_rows,
    download_rows,
    outbox_rows,
    stage_artifacts,
    staged_files,
)

ROUNDS = 6


def _race(backend: Backend, analysis_id: str, contents: tuple[bytes, bytes]) -> list[Any]:
    staged = [stage_artifacts(backend.settings, analysis_id, c) for c in contents]
    barrier = threading.Barrier(len(staged))
    results: list[Any] = [None] * len(staged)

    def commit(index: int, artifacts: list[WrittenArtifact]) -> None:
        final = build_final_object(analysis_id, artifacts)
        barrier.wait()
        try:
            results[index] = persist_analysis_report(
                backend.engine, final, artifacts, backend.settings
            )
        except Exception as exc:  # noqa: BLE001 (reported by the assertion below)
            results[index] = exc

    threads = [
        threading.Thread(target=commit, args=(i, artifacts)) for i, artifacts in enumerate(staged)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(isinstance(r, PersistResult) for r in results), results
    return results


def _assert_consistent(backend: Backend, analysis_id: str) -> dict[str, dict[str, Any]]:
    rows = download_rows(backend.engine, analysis_id)
    assert len(rows) == 3
    pending = [r for r in outbox_rows(backend.engine, analysis_id) if r["state"] == OUTBOX_PENDING]
    assert sorted(r["download_id"] for r in pending) == sorted(rows)  # one live record each
    for record in pending:
        row = rows[record["download_id"]]
        assert record["payload"]["staged_path"] == row["staged_path"]
        assert record["payload"]["sha256"] == row["sha256"]
        staged = backend.settings.staging_dir / row["staged_path"]
        assert staged.stat().st_size == row["size_bytes"]
    stored = load_report(backend.engine, analysis_id)
    assert stored is not None
    with backend.engine.connect() as conn:
        raw = conn.execute(
            sa.select(analysis_reports.c.report).where(
                analysis_reports.c.analysis_id == analysis_id
            )
        ).scalar_one()
    expected = {k: v["sha256"] for k, v in rows.items()}
    for report in (stored, raw):  # overlay and the stored JSON itself agree with the rows
        assert {e["download_id"]: e["sha256"] for e in report["report"]["downloads"]} == expected
    return rows


@pytest.mark.parametrize("round_number", range(ROUNDS))
def test_same_bytes_at_once_end_with_one_report_and_no_duplicates(
    backend: Backend, round_number: int
) -> None:
    analysis_id = f"race-same-{round_number}"
    results = _race(backend, analysis_id, (b"same", b"same"))

    assert count_rows(backend.engine)["analysis_reports"] == 1
    rows = _assert_consistent(backend, analysis_id)
    assert sum(len(r.new_outbox_ids) for r in results) == 3  # one run staged, one found them
    assert len(outbox_rows(backend.engine, analysis_id)) == 3
    assert staged_files(backend.settings) == {r["staged_path"] for r in rows.values()}


@pytest.mark.parametrize("round_number", range(ROUNDS))
def test_different_bytes_at_once_end_with_the_last_commit_winning(
    backend: Backend, round_number: int
) -> None:
    analysis_id = f"race-diff-{round_number}"
    _race(backend, analysis_id, (b"one", b"two"))

    assert count_rows(backend.engine)["analysis_reports"] == 1
    rows = _assert_consistent(backend, analysis_id)
    records = outbox_rows(backend.engine, analysis_id)
    assert sorted(r["state"] for r in records) == [OUTBOX_PENDING] * 3 + [OUTBOX_SUPERSEDED] * 3
    live = [r for r in records if r["state"] == OUTBOX_PENDING]
    winners = {r["payload"]["staged_path"].split(".")[1] for r in live}  # the run token
    assert len(winners) == 1  # all three downloads come from the same (last) run
    with backend.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(outbox_attempts)).scalar() == 3
    assert staged_files(backend.settings) == {r["staged_path"] for r in rows.values()}


def test_many_transformers_committing_different_analyses_all_succeed(backend: Backend) -> None:
    threads_count, per_thread = 4, 8
    barrier = threading.Barrier(threads_count)
    failures: list[BaseException] = []

    def commit_many(worker: int) -> None:
        barrier.wait()
        for number in range(per_thread):
            analysis_id = f"many-{worker}-{number}"
            try:
                artifacts = stage_artifacts(backend.settings, analysis_id, b"m")
                final = build_final_object(analysis_id, artifacts)
                persist_analysis_report(backend.engine, final, artifacts, backend.settings)
            except BaseException as exc:  # noqa: BLE001 (asserted below)
                failures.append(exc)

    with capture_logs() as logs:
        threads = [threading.Thread(target=commit_many, args=(i,)) for i in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)

    assert failures == []
    assert count_rows(backend.engine) == {
        "analysis_reports": threads_count * per_thread,
        "downloads": 3 * threads_count * per_thread,
        "outbox": 3 * threads_count * per_thread,
        "outbox_attempts": 0,
    }
    assert [e for e in logs if e["event"] == "persist_retried"] == []  # no deadlock to retry
