"""requeue: upload_failed -> pending with a fresh outbox record, only with an intact staged file."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from outbox import tables as t
from outbox.audit.requeue import (
    RequeueError,
    Selection,
    Verdict,
    describe_operator,
    requeue_downloads,
)
from outbox.reports import load_report
from outbox.settings import Settings
from relay.verify import verify
from tests.unit.audit.rows import FakeStore, Seeded, Seeder, staged_file


def _failed(seeder: Seeder, analysis_id: str = "a1", fmt: str = "csv", **kw: str) -> Seeded:
    seeded = seeder.add_download(analysis_id, fmt)
    seeder.fail_download(seeded, **kw)
    return seeded


def _requeue(engine: sa.Engine, settings: Settings, selection: Selection, **kw: bool) -> list:
    return requeue_downloads(
        engine, settings, selection, reason="bucket policy fixed", actor="ops@host", **kw
    )


def test_requeue_creates_one_fresh_record_flips_status_and_records_history(
    engine: sa.Engine, settings: Settings, seeder: Seeder, store: FakeStore
) -> None:
    seeder.add_report("a1")
    seeded = _failed(seeder)
    [outcome] = _requeue(engine, settings, Selection(download_id=seeded.download_id))
    assert outcome.verdict is Verdict.REQUEUED
    with engine.connect() as conn:
        status = conn.execute(
            sa.select(t.downloads.c.status, t.downloads.c.last_error).where(
                t.downloads.c.download_id == seeded.download_id
            )
        ).one()
        live = (
            conn.execute(
                sa.select(t.outbox).where(
                    t.outbox.c.download_id == seeded.download_id,
                    t.outbox.c.state == t.OUTBOX_PENDING,
                )
            )
            .mappings()
            .all()
        )
        history = (
            conn.execute(
                sa.select(t.outbox_attempts).where(t.outbox_attempts.c.event == t.EVENT_REQUEUE)
            )
            .mappings()
            .all()
        )
    assert tuple(status) == (t.PENDING, None)
    assert len(live) == 1
    assert live[0]["id"] == outcome.outbox_id
    assert live[0]["attempts"] == 0
    assert live[0]["payload"]["staged_path"] == seeded.staged_path
    assert live[0]["payload"]["content_type"].startswith("text/csv")
    assert [(h["outcome"], h["actor"], h["reason"]) for h in history] == [
        (t.OUTCOME_REQUEUED, "ops@host", "bucket policy fixed")
    ]
    report = load_report(engine, "a1")
    assert report is not None
    [entry] = report["report"]["downloads"]
    assert entry["status"] == t.PENDING
    assert "error" not in entry
    assert verify(engine, store, settings).problems == ()


def test_requeue_twice_leaves_a_single_live_record(
    engine: sa.Engine, settings: Settings, seeder: Seeder
) -> None:
    seeder.add_report("a1")
    seeded = _failed(seeder)
    first = _requeue(engine, settings, Selection(download_id=seeded.download_id))
    second = _requeue(engine, settings, Selection(download_id=seeded.download_id))
    assert [o.verdict for o in first] == [Verdict.REQUEUED]
    assert [o.verdict for o in second] == [Verdict.NOT_FAILED]
    with engine.connect() as conn:
        live = conn.execute(
            sa.select(sa.func.count())
            .select_from(t.outbox)
            .where(t.outbox.c.state == t.OUTBOX_PENDING)
        ).scalar_one()
        requeues = conn.execute(
            sa.select(sa.func.count())
            .select_from(t.outbox_attempts)
            .where(t.outbox_attempts.c.event == t.EVENT_REQUEUE)
        ).scalar_one()
    assert (live, requeues) == (1, 1)


def test_missing_or_changed_staged_file_says_regenerate_and_changes_nothing(
    engine: sa.Engine, settings: Settings, seeder: Seeder
) -> None:
    seeder.add_report("a1")
    gone = _failed(seeder, fmt="csv")
    changed = _failed(seeder, fmt="json")
    staged_file(settings, gone).unlink()
    staged_file(settings, changed).write_bytes(b"other bytes")
    outcomes = _requeue(engine, settings, Selection(analysis_id="a1"))
    assert {o.download_id: o.verdict for o in outcomes} == {
        gone.download_id: Verdict.REGENERATE,
        changed.download_id: Verdict.REGENERATE,
    }
    detail = next(o.detail for o in outcomes if o.download_id == gone.download_id)
    assert "is missing" in detail
    assert "clean-my-data analyze INPUT --analysis-id a1" in detail
    with engine.connect() as conn:
        statuses = set(conn.execute(sa.select(t.downloads.c.status)).scalars())
        live = conn.execute(
            sa.select(sa.func.count())
            .select_from(t.outbox)
            .where(t.outbox.c.state == t.OUTBOX_PENDING)
        ).scalar_one()
    assert statuses == {t.UPLOAD_FAILED}
    assert live == 0


def test_dry_run_lists_but_writes_nothing(
    engine: sa.Engine, settings: Settings, seeder: Seeder
) -> None:
    seeder.add_report("a1")
    seeded = _failed(seeder)
    outcomes = _requeue(engine, settings, Selection(failed=True), dry_run=True)
    assert [(o.download_id, o.verdict) for o in outcomes] == [
        (seeded.download_id, Verdict.WOULD_REQUEUE)
    ]
    with engine.connect() as conn:
        status = conn.execute(sa.select(t.downloads.c.status)).scalar_one()
        history = conn.execute(
            sa.select(sa.func.count()).select_from(t.outbox_attempts)
        ).scalar_one()
    assert status == t.UPLOAD_FAILED
    assert history == 1  # only the failure seeded above


def test_failed_selection_filters_by_error_class_and_since(
    engine: sa.Engine, settings: Settings, seeder: Seeder
) -> None:
    seeder.add_report("a1")
    denied = _failed(seeder, fmt="csv", error_class="access_denied")
    missing_bucket = _failed(seeder, fmt="json", error_class="no_such_bucket")
    selection = Selection(failed=True, error_class="no_such_bucket")
    assert [o.download_id for o in _requeue(engine, settings, selection, dry_run=True)] == [
        missing_bucket.download_id
    ]
    later = Selection(failed=True, since=seeder.now + timedelta(minutes=5))
    assert _requeue(engine, settings, later, dry_run=True) == []
    earlier = Selection(failed=True, since=seeder.now - timedelta(minutes=5))
    found = {o.download_id for o in _requeue(engine, settings, earlier, dry_run=True)}
    assert found == {denied.download_id, missing_bucket.download_id}


def test_other_staging_volume_is_not_requeued_here(
    engine: sa.Engine, settings: Settings, seeder: Seeder
) -> None:
    seeder.add_report("a1")
    seeded = _failed(seeder)
    with engine.begin() as conn:
        conn.execute(sa.update(t.downloads).values(staging_volume="node-b"))
    [outcome] = _requeue(engine, settings, Selection(download_id=seeded.download_id))
    assert outcome.verdict is Verdict.OTHER_VOLUME
    assert "STAGING_VOLUME_ID=node-b" in outcome.detail


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        (Selection(), "exactly one"),
        (Selection(download_id="x", failed=True), "exactly one"),
        (Selection(analysis_id="a", error_class="timeout"), "only apply with --failed"),
        (Selection(download_id="nope"), "no download 'nope'"),
        (Selection(analysis_id="nope"), "no downloads for analysis 'nope'"),
    ],
)
def test_bad_selections_are_one_line_errors(
    engine: sa.Engine, settings: Settings, selection: Selection, message: str
) -> None:
    with pytest.raises(RequeueError, match=message):
        _requeue(engine, settings, selection)


def test_empty_reason_is_refused(engine: sa.Engine, settings: Settings) -> None:
    with pytest.raises(RequeueError, match="--reason"):
        requeue_downloads(engine, settings, Selection(failed=True), reason="  ", actor="x@y")


def test_operator_is_user_at_host() -> None:
    user, _, host = describe_operator().partition("@")
    assert user
    assert host
