"""Analysis jobs on the embedded default: submit, claim, fence, retry, fail, release."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

import clean_my_data
from clean_my_data.jobs.inputs import InputTooLargeError, stored_at
from clean_my_data.jobs.submit import submit_analysis
from clean_my_data.worker.runner import JobWorker
from domain.downloads.entries import ARTIFACT_KINDS
from outbox.clock import utcnow
from outbox.jobs.leasing import claim_job, mark_succeeded, release_job
from outbox.jobs.model import JobConflictError, JobLeaseLostError
from outbox.jobs.queue import load_job
from outbox.settings import Settings
from outbox.tables import analysis_jobs, analysis_reports, downloads, outbox
from relay.stores.local import LocalStore

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HOSTILE = Path(__file__).resolve().parents[2] / "hostile" / "files"
CSV = b"id,name,amount\n1,Ann,10\n2,Bob,\n3,ann ,30\n"


def _submit(engine: sa.Engine, store: LocalStore, settings: Settings, data: bytes, **kw: object):
    return submit_analysis(
        engine,
        store,
        settings,
        analysis_id=str(kw.pop("analysis_id", "a-1")),
        chunks=iter([data[:10], data[10:]]),
        file_name=str(kw.pop("file_name", "orders.csv")),
        submitted_by="tester",
        **kw,  # type: ignore[arg-type]
    )


def _inputs(store: LocalStore) -> list[str]:
    return [info.key for info in store.iter_objects("inputs/")]


def _count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _expire_lease(engine: sa.Engine, analysis_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            analysis_jobs.update()
            .where(analysis_jobs.c.analysis_id == analysis_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )


def test_same_id_and_bytes_is_the_same_job_other_bytes_a_conflict_unless_replaced(
    engine: sa.Engine, store: LocalStore, settings: Settings
) -> None:
    first = _submit(engine, store, settings, CSV)
    again = _submit(engine, store, settings, CSV)
    assert first.created
    assert not again.created
    assert again.job.id == first.job.id
    assert _inputs(store) == [first.job.input_key]
    assert stored_at(first.job.input_key) is not None

    with pytest.raises(JobConflictError, match="other input bytes"):
        _submit(engine, store, settings, CSV + b"4,Cy,40\n")
    assert _inputs(store) == [first.job.input_key]

    replaced = _submit(engine, store, settings, CSV + b"4,Cy,40\n", replace=True)
    assert replaced.job.id == first.job.id
    assert replaced.job.input_size == len(CSV) + 8
    assert _inputs(store) == [replaced.job.input_key] != [first.job.input_key]
    assert _count(engine, analysis_jobs) == 1


def test_an_oversize_input_is_refused_and_nothing_is_kept(
    engine: sa.Engine, store: LocalStore, settings: Settings
) -> None:
    import dataclasses

    small = dataclasses.replace(settings, max_upload_bytes=len(CSV) - 1)
    with pytest.raises(InputTooLargeError, match="MAX_UPLOAD_BYTES"):
        _submit(engine, store, small, CSV)
    assert _inputs(store) == []
    assert _count(engine, analysis_jobs) == 0
    assert list(store.local_path("inputs").iterdir()) == []  # no temporary file either
    assert not settings.worker_scratch_dir.exists()


def test_a_worker_commits_report_downloads_outbox_and_the_job_together(
    engine: sa.Engine, store: LocalStore, settings: Settings
) -> None:
    _submit(engine, store, settings, (FIXTURES / "messy_orders.csv").read_bytes())
    outcome = JobWorker(engine, store, settings).run_one()
    assert outcome is not None
    assert outcome.status == "succeeded"
    job = load_job(engine, "a-1")
    assert job is not None
    assert (job.status, job.attempts, job.progress, job.error_message) == (
        "succeeded",
        1,
        1.0,
        None,
    )
    assert _count(engine, analysis_reports) == 1
    assert _count(engine, downloads) == len(ARTIFACT_KINDS)
    assert _count(engine, outbox) == len(ARTIFACT_KINDS)
    assert list(settings.worker_scratch_dir.iterdir()) == []  # scratch removed
    assert JobWorker(engine, store, settings).run_one() is None  # nothing left to claim


def test_bad_input_fails_the_job_once_without_retry(
    engine: sa.Engine, store: LocalStore, settings: Settings
) -> None:
    _submit(engine, store, settings, (HOSTILE / "png_image.csv").read_bytes())
    outcome = JobWorker(engine, store, settings).run_one()
    assert outcome is not None
    assert outcome.status == "failed"
    job = load_job(engine, "a-1")
    assert job is not None
    assert (job.status, job.attempts, job.error_class) == ("failed", 1, "input_error")
    assert job.error_message
    assert "\n" not in job.error_message
    assert _count(engine, analysis_reports) == 0
    assert JobWorker(engine, store, settings).run_one() is None


def test_a_worker_whose_lease_was_taken_over_commits_nothing(
    engine: sa.Engine, store: LocalStore, settings: Settings, tmp_path: Path
) -> None:
    _submit(engine, store, settings, CSV)
    stale = claim_job(engine, owner="w1", lease_seconds=30)
    assert stale is not None
    _expire_lease(engine, "a-1")
    current = claim_job(engine, owner="w2", lease_seconds=30)
    assert current is not None
    assert current.lease_token != stale.lease_token
    assert current.attempt == 2
    path = tmp_path / "orders.csv"
    path.write_bytes(CSV)
    with pytest.raises(JobLeaseLostError):
        clean_my_data.analyze_and_commit(
            path,
            analysis_id="a-1",
            settings=settings,
            in_transaction=lambda c: mark_succeeded(c, stale),
        )
    assert _count(engine, analysis_reports) == 0
    assert _count(engine, downloads) == 0
    assert list(settings.staging_dir.iterdir()) == []  # its staged files removed
    clean_my_data.analyze_and_commit(
        path,
        analysis_id="a-1",
        settings=settings,
        in_transaction=lambda c: mark_succeeded(c, current),
    )
    job = load_job(engine, "a-1")
    assert job is not None
    assert job.status == "succeeded"
    assert _count(engine, analysis_reports) == 1


def test_a_job_whose_worker_keeps_dying_fails_after_max_attempts(
    engine: sa.Engine, store: LocalStore, settings: Settings
) -> None:
    _submit(engine, store, settings, CSV)
    for attempt in (1, 2):
        claimed = claim_job(engine, owner=f"w{attempt}", lease_seconds=30)
        assert claimed is not None
        assert claimed.attempt == attempt
        _expire_lease(engine, "a-1")
    assert claim_job(engine, owner="w3", lease_seconds=30) is None
    job = load_job(engine, "a-1")
    assert job is not None
    assert (job.status, job.attempts, job.error_class) == ("failed", 2, "lease_expired")
    assert job.error_message == "lease of w2 expired on attempt 2 of 2"


def test_a_released_job_is_queued_again_with_its_attempt_given_back(
    engine: sa.Engine, store: LocalStore, settings: Settings
) -> None:
    _submit(engine, store, settings, CSV)
    claimed = claim_job(engine, owner="w1", lease_seconds=30)
    assert claimed is not None
    assert release_job(engine, claimed)
    assert not release_job(engine, claimed)  # the token is gone
    job = load_job(engine, "a-1")
    assert job is not None
    assert (job.status, job.attempts) == ("queued", 0)
    again = claim_job(engine, owner="w2", lease_seconds=30)
    assert again is not None
    assert again.attempt == 1


def test_inputs_are_swept_after_retention_or_when_never_queued(
    engine: sa.Engine, store: LocalStore, settings: Settings
) -> None:
    from clean_my_data.jobs.inputs import store_input
    from clean_my_data.jobs.sweep import sweep_inputs

    _submit(engine, store, settings, CSV, analysis_id="done")
    assert JobWorker(engine, store, settings).run_one() is not None
    _submit(engine, store, settings, CSV, analysis_id="waiting")
    orphan = store_input(store, settings, [b"a,b\n1,2\n"], "orphan.csv").key
    assert len(_inputs(store)) == 3

    early = sweep_inputs(engine, store, settings)  # nothing is old enough yet
    assert (early.expired, early.unreferenced) == ((), ())
    later = sweep_inputs(engine, store, settings, now=utcnow() + timedelta(hours=25))
    done = load_job(engine, "done")
    waiting = load_job(engine, "waiting")
    assert done is not None
    assert waiting is not None
    assert later.expired == (done.input_key,)
    assert later.unreferenced == (orphan,)
    assert _inputs(store) == [waiting.input_key]  # a queued job's input stays
    with engine.connect() as conn:
        deleted_at = conn.execute(
            sa.select(analysis_jobs.c.input_deleted_at).where(analysis_jobs.c.analysis_id == "done")
        ).scalar_one()
    assert deleted_at is not None


def test_progress_is_written_at_most_once_a_second(
    engine: sa.Engine, store: LocalStore, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clean_my_data.worker import runner

    _submit(engine, store, settings, CSV)
    job = claim_job(engine, owner="w1", lease_seconds=30)
    assert job is not None
    clock = [100.0]
    monkeypatch.setattr(runner.time, "monotonic", lambda: clock[0])
    writer = runner.ProgressWriter(engine, job, 30)
    for step in range(40):  # 4 seconds of calls every 0.1 s, phases changing
        clock[0] = 100 + step / 10
        writer("analysing" if step < 25 else "cleaning", step, 40)
    written = load_job(engine, "a-1")
    assert written is not None
    assert written.phase == "cleaning"
    assert written.progress == pytest.approx(30 / 40)  # the writes at 0, 1, 2 and 3 s


def test_writes_left_by_a_killed_upload_are_removed_after_the_grace_period(
    engine: sa.Engine, store: LocalStore, settings: Settings
) -> None:
    import os

    from clean_my_data.jobs.inputs import PendingInput
    from clean_my_data.jobs.sweep import sweep_inputs

    old = PendingInput(store, settings, "old.csv")  # never closed: as if the process had died
    old.write(b"a,b\n")
    fresh = PendingInput(store, settings, "fresh.csv")
    fresh.write(b"a,b\n")
    inputs_dir = store.local_path("inputs")
    assert sorted(inputs_dir.iterdir()) == sorted([old.path, fresh.path])
    assert _inputs(store) == []  # nothing is an object before it is published
    os.utime(old.path, (0, 0))
    assert sweep_inputs(engine, store, settings).abandoned == 1
    assert list(inputs_dir.iterdir()) == [fresh.path]
    fresh.close()
    assert list(inputs_dir.iterdir()) == []


def test_a_store_that_cannot_be_written_refuses_the_input_and_keeps_nothing(
    engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    from clean_my_data.jobs.inputs import InputStoreError

    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the store's directory should be")
    with pytest.raises(InputStoreError, match="cannot store the input"):
        _submit(engine, LocalStore(blocked), settings, CSV)
    assert _count(engine, analysis_jobs) == 0
    assert blocked.read_text() == "a file where the store's directory should be"
    assert not settings.worker_scratch_dir.exists()
