"""Claim -> upload -> flip on the embedded backends (SQLite file, local directory store)."""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from domain.model import ArtifactFormat
from outbox.clock import utcnow
from outbox.reports import load_report
from outbox.settings import Settings
from outbox.tables import (
    OUTBOX_DEAD,
    OUTBOX_DONE,
    OUTBOX_PENDING,
    OUTCOME_ABANDONED,
    OUTCOME_ALREADY_PRESENT,
    OUTCOME_FAILED,
    OUTCOME_LEASE_LOST,
    OUTCOME_RETRY,
    OUTCOME_UPLOADED,
    UPLOAD_FAILED,
    UPLOADED,
    outbox,
)
from relay.attempt import attempt_upload
from relay.claim import claim_batch, release_leases
from relay.flip import FlipResult, flip_outcome, flip_outcomes
from relay.stores.base import ErrorClass, ObjectStore, StoreError, UploadRequest, UploadResult
from relay.stores.local import LocalStore
from relay.sweep import sweep_orphans
from relay.worker import RelayWorker
from tests.unit.relay.staged import commit_analysis, read_all

CSV = b"id,name\n1,alice\n2,bob\n"
JSON = b'{"ok": true}'


def claim(engine: sa.Engine, settings: Settings, owner: str = "r1", lease: int = 60):
    return claim_batch(
        engine, volume=settings.staging_volume_id, owner=owner, batch_size=10, lease_seconds=lease
    )


def test_drain_uploads_every_artifact_and_flips_everything(
    sqlite_engine: sa.Engine, local_settings: Settings, local_store: LocalStore
) -> None:
    committed = commit_analysis(
        sqlite_engine, local_settings, "an-1", {ArtifactFormat.CSV: CSV, ArtifactFormat.JSON: JSON}
    )
    worker = RelayWorker(sqlite_engine, local_store, local_settings)
    summaries = worker.drain()
    worker.close()
    assert [s.claimed for s in summaries] == [2]
    state = read_all(sqlite_engine)
    assert {d["status"] for d in state["downloads"]} == {UPLOADED}
    assert {o["state"] for o in state["outbox"]} == {OUTBOX_DONE}
    assert all(o["lease_expires_at"] is None for o in state["outbox"])
    assert [(h["outcome"], h["attempt"]) for h in state["history"]] == [
        (OUTCOME_UPLOADED, 1),
        (OUTCOME_UPLOADED, 1),
    ]
    assert sorted(h["bytes"] for h in state["history"]) == sorted([len(CSV), len(JSON)])
    for artifact in committed.artifacts:
        info = local_store.head(artifact.object_key or "")
        assert info is not None
        assert info.sha256 == artifact.sha256
    assert list(local_settings.staging_dir.iterdir()) == []  # staged files deleted
    report = load_report(sqlite_engine, "an-1")
    assert report is not None
    assert {e["status"] for e in report["report"]["downloads"]} == {UPLOADED}


def test_missing_staged_file_fails_at_once_and_does_not_block_others(
    sqlite_engine: sa.Engine, local_settings: Settings, local_store: LocalStore
) -> None:
    committed = commit_analysis(
        sqlite_engine, local_settings, "an-2", {ArtifactFormat.CSV: CSV, ArtifactFormat.JSON: JSON}
    )
    lost = committed.artifacts[0]
    (local_settings.staging_dir / (lost.staged_path or "")).unlink()
    worker = RelayWorker(sqlite_engine, local_store, local_settings)
    worker.drain()
    worker.close()
    state = read_all(sqlite_engine)
    by_id = {d["download_id"]: d for d in state["downloads"]}
    assert by_id[lost.spec.download_id]["status"] == UPLOAD_FAILED
    assert "missing" in by_id[lost.spec.download_id]["last_error"]
    assert by_id[committed.artifacts[1].spec.download_id]["status"] == UPLOADED
    failed = [h for h in state["history"] if h["outcome"] == OUTCOME_FAILED]
    assert [(h["error_class"], h["attempt"]) for h in failed] == [
        (str(ErrorClass.MISSING_STAGED_FILE), 1)
    ]
    report = load_report(sqlite_engine, "an-2")
    assert report is not None
    entries = {e["download_id"]: e for e in report["report"]["downloads"]}
    assert entries[lost.spec.download_id]["status"] == UPLOAD_FAILED
    assert entries[lost.spec.download_id]["error"]


class FlakyStore(ObjectStore):
    """Fails every upload with a retryable error (delegating the rest)."""

    def __init__(self, inner: ObjectStore, retry_after: float | None = None) -> None:
        self.inner = inner
        self.retry_after = retry_after
        self.calls = 0

    def upload(self, request: UploadRequest) -> UploadResult:
        self.calls += 1
        raise StoreError(
            ErrorClass.THROTTLED,
            "SlowDown: please reduce your request rate",
            retry_after=self.retry_after,
        )

    def head(self, key: str):  # type: ignore[no-untyped-def]
        return self.inner.head(key)

    def iter_objects(self, prefix: str):  # type: ignore[no-untyped-def]
        return self.inner.iter_objects(prefix)

    def presign_get(self, key: str, ttl_seconds: int) -> str:
        return self.inner.presign_get(key, ttl_seconds)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def location_of(self, key: str) -> str:
        return self.inner.location_of(key)


def test_retryable_errors_retry_until_max_attempts_then_fail_with_last_error(
    sqlite_engine: sa.Engine, local_settings: Settings, local_store: LocalStore
) -> None:
    commit_analysis(sqlite_engine, local_settings, "an-3", {ArtifactFormat.CSV: CSV})
    flaky = FlakyStore(local_store)
    worker = RelayWorker(sqlite_engine, flaky, local_settings)  # backoff 0 s, 3 attempts
    worker.drain()
    worker.close()
    state = read_all(sqlite_engine)
    assert flaky.calls == 3
    assert [(h["outcome"], h["attempt"]) for h in state["history"]] == [
        (OUTCOME_RETRY, 1),
        (OUTCOME_RETRY, 2),
        (OUTCOME_FAILED, 3),
    ]
    assert state["outbox"][0]["state"] == OUTBOX_DEAD
    assert state["outbox"][0]["last_error_class"] == "throttled"
    assert state["downloads"][0]["status"] == UPLOAD_FAILED
    assert "gave up after 3 attempts: SlowDown" in state["downloads"][0]["last_error"]
    assert len(list(local_settings.staging_dir.iterdir())) == 1  # kept for a requeue


def test_retry_waits_for_retry_after_before_being_claimed_again(
    sqlite_engine: sa.Engine, local_store: LocalStore, tmp_path: Path
) -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": str(sqlite_engine.url),
            "ARTIFACT_STORE_URL": f"file://{tmp_path / 'objects'}",
            "STAGING_DIR": str(tmp_path / "staging"),
            "RELAY_BACKOFF_BASE_SECONDS": "100",
            "RELAY_BACKOFF_MAX_SECONDS": "100",
        }
    )
    commit_analysis(sqlite_engine, settings, "an-4", {ArtifactFormat.CSV: CSV})
    (record,) = claim(sqlite_engine, settings)
    before = utcnow()
    report = attempt_upload(record, FlakyStore(local_store, retry_after=50), settings)
    assert report.outcome == OUTCOME_RETRY
    assert report.retry_at is not None
    assert report.retry_at >= before + timedelta(seconds=50)  # Retry-After honoured
    assert flip_outcome(sqlite_engine, record, report, actor="r1") is FlipResult.APPLIED
    assert claim(sqlite_engine, settings) == []  # not due yet
    with sqlite_engine.begin() as conn:
        conn.execute(outbox.update().values(available_at=utcnow() - timedelta(seconds=1)))
    (again,) = claim(sqlite_engine, settings)
    assert again.attempt == 2
    assert again.lease_token != record.lease_token


def test_a_claimed_row_is_not_claimed_twice_until_its_lease_expires(
    sqlite_engine: sa.Engine, local_settings: Settings
) -> None:
    commit_analysis(sqlite_engine, local_settings, "an-5", {ArtifactFormat.CSV: CSV})
    first = claim(sqlite_engine, local_settings, owner="r1", lease=1)
    assert len(first) == 1
    assert claim(sqlite_engine, local_settings, owner="r2") == []
    time.sleep(1.2)
    second = claim(sqlite_engine, local_settings, owner="r2")
    assert [r.outbox_id for r in second] == [first[0].outbox_id]
    assert second[0].attempt == 2


def test_late_flip_after_takeover_is_rejected_and_recorded_as_lease_lost(
    sqlite_engine: sa.Engine, local_settings: Settings, local_store: LocalStore
) -> None:
    commit_analysis(sqlite_engine, local_settings, "an-6", {ArtifactFormat.CSV: CSV})
    (old,) = claim(sqlite_engine, local_settings, owner="old", lease=1)
    time.sleep(1.2)
    (new,) = claim(sqlite_engine, local_settings, owner="new")
    new_report = attempt_upload(new, local_store, local_settings)
    old_report = attempt_upload(old, local_store, local_settings)  # same bytes: already there
    assert old_report.outcome == OUTCOME_ALREADY_PRESENT
    assert flip_outcome(sqlite_engine, new, new_report, actor="new") is FlipResult.APPLIED
    assert flip_outcome(sqlite_engine, old, old_report, actor="old") is FlipResult.LEASE_LOST
    state = read_all(sqlite_engine)
    assert state["outbox"][0]["state"] == OUTBOX_DONE
    assert state["outbox"][0]["lease_token"] == new.lease_token
    assert [(h["actor"], h["outcome"], h["attempt"]) for h in state["history"]] == [
        ("old", OUTCOME_ABANDONED, 1),  # recorded by the reclaim: the lease had expired
        ("new", OUTCOME_UPLOADED, 2),
        ("old", OUTCOME_LEASE_LOST, 1),
    ]


def test_repeated_flip_changes_nothing(
    sqlite_engine: sa.Engine, local_settings: Settings, local_store: LocalStore
) -> None:
    commit_analysis(sqlite_engine, local_settings, "an-7", {ArtifactFormat.CSV: CSV})
    (record,) = claim(sqlite_engine, local_settings)
    report = attempt_upload(record, local_store, local_settings)
    assert flip_outcome(sqlite_engine, record, report, actor="r1") is FlipResult.APPLIED
    before = read_all(sqlite_engine)
    assert flip_outcome(sqlite_engine, record, report, actor="r1") is FlipResult.REPEATED
    assert read_all(sqlite_engine) == before


def test_released_leases_are_due_again_without_using_an_attempt(
    sqlite_engine: sa.Engine, local_settings: Settings
) -> None:
    commit_analysis(sqlite_engine, local_settings, "an-8", {ArtifactFormat.CSV: CSV})
    records = claim(sqlite_engine, local_settings)
    assert release_leases(sqlite_engine, records) == 1
    state = read_all(sqlite_engine)["outbox"][0]
    assert (state["state"], state["attempts"], state["lease_token"]) == (OUTBOX_PENDING, 0, None)
    (again,) = claim(sqlite_engine, local_settings)
    assert again.attempt == 1


def test_stopped_worker_claims_nothing(
    sqlite_engine: sa.Engine, local_settings: Settings, local_store: LocalStore
) -> None:
    commit_analysis(sqlite_engine, local_settings, "an-9", {ArtifactFormat.CSV: CSV})
    worker = RelayWorker(sqlite_engine, local_store, local_settings)
    worker.request_stop()
    assert worker.drain() == []
    worker.close()
    assert read_all(sqlite_engine)["outbox"][0]["attempts"] == 0


def test_sweep_removes_only_old_orphans(
    sqlite_engine: sa.Engine, local_settings: Settings, local_store: LocalStore
) -> None:
    committed = commit_analysis(sqlite_engine, local_settings, "an-10", {ArtifactFormat.CSV: CSV})
    staging = local_settings.staging_dir
    live = staging / (committed.artifacts[0].staged_path or "")
    old_orphan = staging / "crashed-before-commit.csv"
    young_orphan = staging / "being-committed.csv"
    for path in (old_orphan, young_orphan):
        path.write_bytes(b"x")
    old = time.time() - local_settings.relay_orphan_grace_seconds - 10
    os.utime(old_orphan, (old, old))
    os.utime(live, (old, old))
    removed = sweep_orphans(sqlite_engine, local_settings)
    assert removed == ["crashed-before-commit.csv"]
    assert live.exists()
    assert young_orphan.exists()


def test_group_flip_applies_each_outcome_on_its_own_guard(
    sqlite_engine: sa.Engine, local_settings: Settings, local_store: LocalStore
) -> None:
    commit_analysis(sqlite_engine, local_settings, "an-11", {ArtifactFormat.CSV: CSV})
    commit_analysis(sqlite_engine, local_settings, "an-12", {ArtifactFormat.JSON: JSON})
    kept, stolen = claim(sqlite_engine, local_settings, owner="r1")
    with sqlite_engine.begin() as conn:  # another relay took one record over
        conn.execute(
            outbox.update().where(outbox.c.id == stolen.outbox_id).values(lease_token="other")
        )
    finished = [
        (kept, attempt_upload(kept, local_store, local_settings)),
        (stolen, attempt_upload(stolen, local_store, local_settings)),
    ]
    assert flip_outcomes(sqlite_engine, finished, actor="r1") == [
        FlipResult.APPLIED,
        FlipResult.LEASE_LOST,
    ]
    state = read_all(sqlite_engine)
    states = {o["id"]: (o["state"], o["lease_token"]) for o in state["outbox"]}
    assert states[kept.outbox_id] == (OUTBOX_DONE, kept.lease_token)
    assert states[stolen.outbox_id] == (OUTBOX_PENDING, "other")
    assert sorted((h["outbox_id"], h["outcome"]) for h in state["history"]) == [
        (kept.outbox_id, OUTCOME_UPLOADED),
        (stolen.outbox_id, OUTCOME_LEASE_LOST),
    ]


class GateStore(FlakyStore):
    """Blocks the first upload until released, then delegates to the real store."""

    def __init__(self, inner: ObjectStore) -> None:
        super().__init__(inner)
        self.started = threading.Event()
        self.release = threading.Event()

    def upload(self, request: UploadRequest) -> UploadResult:
        self.calls += 1
        self.started.set()
        assert self.release.wait(30)
        return self.inner.upload(request)


def test_stop_during_a_batch_finishes_running_uploads_and_releases_the_rest(
    sqlite_engine: sa.Engine, local_store: LocalStore, tmp_path: Path
) -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": str(sqlite_engine.url),
            "ARTIFACT_STORE_URL": f"file://{tmp_path / 'objects'}",
            "STAGING_DIR": str(tmp_path / "staging"),
            "RELAY_CONCURRENCY": "1",
        }
    )
    for index in range(3):
        commit_analysis(sqlite_engine, settings, f"stop-{index}", {ArtifactFormat.CSV: CSV})
    gate = GateStore(local_store)
    worker = RelayWorker(sqlite_engine, gate, settings)
    batch = threading.Thread(target=worker.run_batch)
    batch.start()
    assert gate.started.wait(30)
    worker.request_stop()
    gate.release.set()
    batch.join(30)
    worker.close()
    state = read_all(sqlite_engine)
    assert gate.calls == 1
    assert sorted(
        (o["state"], o["attempts"], o["lease_token"] is None) for o in state["outbox"]
    ) == [
        (OUTBOX_DONE, 1, False),
        (OUTBOX_PENDING, 0, True),
        (OUTBOX_PENDING, 0, True),
    ]
    assert [h["outcome"] for h in state["history"]] == [OUTCOME_UPLOADED]


def test_a_record_whose_every_attempt_was_abandoned_ends_upload_failed(
    sqlite_engine: sa.Engine, local_settings: Settings, local_store: LocalStore
) -> None:
    """A poison record (the relay dies during each attempt) must not loop forever."""
    commit_analysis(sqlite_engine, local_settings, "an-poison", {ArtifactFormat.CSV: CSV})
    for owner in ("dies-1", "dies-2", "dies-3"):  # local_settings allows 3 attempts
        (held,) = claim(sqlite_engine, local_settings, owner=owner)
        with sqlite_engine.begin() as conn:  # the holder dies: its lease runs out
            conn.execute(outbox.update().values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    assert held.attempt == 3
    worker = RelayWorker(sqlite_engine, local_store, local_settings)
    worker.drain()
    worker.close()
    state = read_all(sqlite_engine)
    assert [(h["actor"], h["outcome"], h["attempt"]) for h in state["history"]] == [
        ("dies-1", OUTCOME_ABANDONED, 1),
        ("dies-2", OUTCOME_ABANDONED, 2),
        ("dies-3", OUTCOME_ABANDONED, 3),
        ("relay-test", OUTCOME_FAILED, 4),
    ]
    assert state["history"][-1]["error_class"] == ErrorClass.ATTEMPTS_EXHAUSTED
    assert state["outbox"][0]["state"] == OUTBOX_DEAD
    assert state["downloads"][0]["status"] == UPLOAD_FAILED
    assert "all 3 attempts were abandoned" in state["downloads"][0]["last_error"]
    key = state["outbox"][0]["payload"]["object_key"]
    assert local_store.head(key) is None  # given up without another upload
    report = load_report(sqlite_engine, "an-poison")
    assert report is not None
    assert report["report"]["downloads"][0]["status"] == UPLOAD_FAILED
