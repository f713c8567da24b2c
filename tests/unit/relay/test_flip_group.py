"""One group commit with every kind of outcome, over two analyses (SQLite, local store)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from domain.model import ArtifactFormat
from outbox.clock import utcnow
from outbox.reports import load_report
from outbox.settings import Settings
from outbox.tables import (
    OUTBOX_DEAD,
    OUTBOX_DONE,
    OUTBOX_PENDING,
    OUTCOME_FAILED,
    OUTCOME_LEASE_LOST,
    OUTCOME_RETRY,
    OUTCOME_UPLOADED,
    PENDING,
    UPLOAD_FAILED,
    UPLOADED,
    analysis_reports,
    outbox,
)
from relay.attempt import attempt_upload
from relay.claim import claim_batch
from relay.flip import FlipResult, flip_outcomes
from relay.records import AttemptReport
from relay.stores.local import LocalStore
from tests.unit.relay.staged import commit_analysis, read_all

CSV = b"id\n1\n"
JSON = b"{}"


def _failure(outcome: str, error: str) -> AttemptReport:
    return AttemptReport(
        outcome=outcome,
        started_at=utcnow(),
        duration_ms=3,
        error_class="throttled" if outcome == OUTCOME_RETRY else "access_denied",
        error_message=error,
        retry_at=utcnow() + timedelta(seconds=60) if outcome == OUTCOME_RETRY else None,
    )


def test_a_mixed_group_applies_each_outcome_and_keeps_the_report_in_step(
    sqlite_engine: sa.Engine, local_settings: Settings, local_store: LocalStore
) -> None:
    commit_analysis(
        sqlite_engine, local_settings, "an-b", {ArtifactFormat.CSV: CSV, ArtifactFormat.JSON: JSON}
    )
    commit_analysis(
        sqlite_engine, local_settings, "an-a", {ArtifactFormat.CSV: CSV, ArtifactFormat.JSON: JSON}
    )
    records = claim_batch(
        sqlite_engine,
        volume=local_settings.staging_volume_id,
        owner="r1",
        batch_size=10,
        lease_seconds=60,
    )
    uploaded_b, failed_b, retried_a, stolen_a = sorted(
        records, key=lambda r: (r.analysis_id != "an-b", r.outbox_id)
    )
    with sqlite_engine.begin() as conn:
        conn.execute(
            outbox.update().where(outbox.c.id == stolen_a.outbox_id).values(lease_token="other")
        )
    finished = [
        (uploaded_b, attempt_upload(uploaded_b, local_store, local_settings)),
        (failed_b, _failure(OUTCOME_FAILED, "AccessDenied: no")),
        (retried_a, _failure(OUTCOME_RETRY, "SlowDown")),
        (stolen_a, attempt_upload(stolen_a, local_store, local_settings)),
    ]
    with sqlite_engine.connect() as conn:
        untouched = conn.execute(
            sa.select(analysis_reports.c.updated_at).where(analysis_reports.c.analysis_id == "an-a")
        ).scalar_one()

    flips = flip_outcomes(sqlite_engine, finished, actor="r1")

    assert flips == [
        FlipResult.APPLIED,
        FlipResult.APPLIED,
        FlipResult.APPLIED,
        FlipResult.LEASE_LOST,
    ]
    state = read_all(sqlite_engine)
    rows = {o["id"]: o for o in state["outbox"]}
    assert rows[uploaded_b.outbox_id]["state"] == OUTBOX_DONE
    assert rows[failed_b.outbox_id]["state"] == OUTBOX_DEAD
    assert rows[retried_a.outbox_id]["state"] == OUTBOX_PENDING
    assert rows[retried_a.outbox_id]["lease_expires_at"] is None
    assert rows[stolen_a.outbox_id]["lease_token"] == "other"
    statuses = {d["download_id"]: (d["status"], d["last_error"]) for d in state["downloads"]}
    assert statuses[uploaded_b.download_id] == (UPLOADED, None)
    assert statuses[failed_b.download_id] == (UPLOAD_FAILED, "AccessDenied: no")
    assert statuses[retried_a.download_id] == (PENDING, "SlowDown")
    assert statuses[stolen_a.download_id][0] == PENDING
    assert sorted((h["outbox_id"], h["outcome"]) for h in state["history"]) == sorted(
        [
            (uploaded_b.outbox_id, OUTCOME_UPLOADED),
            (failed_b.outbox_id, OUTCOME_FAILED),
            (retried_a.outbox_id, OUTCOME_RETRY),
            (stolen_a.outbox_id, OUTCOME_LEASE_LOST),
        ]
    )
    # the stored JSON agrees with the rows (invariant 3); an-a had no terminal outcome
    with sqlite_engine.connect() as conn:
        stored = dict(
            conn.execute(sa.select(analysis_reports.c.analysis_id, analysis_reports.c.report))
            .tuples()
            .all()
        )
        assert (
            conn.execute(
                sa.select(analysis_reports.c.updated_at).where(
                    analysis_reports.c.analysis_id == "an-a"
                )
            ).scalar_one()
            == untouched
        )
    entries = {e["download_id"]: e for r in stored.values() for e in r["report"]["downloads"]}
    for download_id, (status, error) in statuses.items():
        assert entries[download_id]["status"] == status
        assert entries[download_id].get("error") == (error if status == UPLOAD_FAILED else None)
    report = load_report(sqlite_engine, "an-b")
    assert report is not None
    assert sorted(e["status"] for e in report["report"]["downloads"]) == sorted(
        [UPLOADED, UPLOAD_FAILED]
    )
