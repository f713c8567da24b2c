"""The relay on MariaDB + a real SeaweedFS: happy path, concurrency, leases, failures."""

from __future__ import annotations

import hashlib
import os
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from clean_my_data.commands.report import render_report
from domain.model import ArtifactFormat
from outbox.clock import utcnow
from outbox.db import create_database_engine
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
from relay.claim import claim_batch
from relay.flip import FlipResult, flip_outcome
from relay.presign import build_presigner
from relay.stores.s3 import S3Store
from relay.worker import RelayWorker
from tests.integration.relay.conftest import MakeSettings
from tests.support.ports import free_port
from tests.support.seaweed import S3Server
from tests.unit.relay.staged import commit_analysis, read_all

pytestmark = [pytest.mark.mariadb, pytest.mark.s3]

CSV = b"id,name\n1,alice\n2,bob\n"
XLSX = os.urandom(7 * 1024 * 1024)  # multipart at the 5 MiB threshold used here
JSON = b'{"issues": []}'


def run_relay(engine: sa.Engine, settings: Settings) -> None:
    worker = RelayWorker(engine, S3Store.from_settings(settings), settings)
    try:
        worker.drain()
    finally:
        worker.close()


def test_happy_path_uploads_flips_and_cleans_staging(
    mysql_engine: sa.Engine, s3_settings: Settings, s3_store: S3Store
) -> None:
    committed = commit_analysis(
        mysql_engine,
        s3_settings,
        "happy-1",
        {ArtifactFormat.CSV: CSV, ArtifactFormat.XLSX: XLSX, ArtifactFormat.JSON: JSON},
    )
    run_relay(mysql_engine, s3_settings)
    state = read_all(mysql_engine)
    assert {d["status"] for d in state["downloads"]} == {UPLOADED}
    assert {o["state"] for o in state["outbox"]} == {OUTBOX_DONE}
    assert Counter(h["outcome"] for h in state["history"]) == {OUTCOME_UPLOADED: 3}
    assert all(h["etag"] for h in state["history"])
    for artifact in committed.artifacts:
        info = s3_store.head(artifact.object_key or "")
        assert info is not None
        assert (info.size_bytes, info.sha256) == (artifact.size_bytes, artifact.sha256)
        assert artifact.s3_path == s3_store.location_of(artifact.object_key or "")
    assert list(s3_settings.staging_dir.iterdir()) == []
    report = load_report(mysql_engine, "happy-1")
    assert report is not None
    assert {e["status"] for e in report["report"]["downloads"]} == {UPLOADED}


def test_concurrent_relays_upload_each_artifact_exactly_once(
    make_settings: MakeSettings, mysql_engine: sa.Engine, s3_store: S3Store
) -> None:
    base = make_settings()
    for index in range(8):
        commit_analysis(
            mysql_engine,
            base,
            f"conc-{index}",
            {
                ArtifactFormat.CSV: CSV + str(index).encode(),
                ArtifactFormat.XLSX: os.urandom(2048),
                ArtifactFormat.JSON: JSON,
            },
        )
    relays = [
        make_settings(RELAY_ID=f"relay-{n}", RELAY_BATCH_SIZE="3", RELAY_CONCURRENCY="2")
        for n in range(3)
    ]
    engines = [create_database_engine(settings) for settings in relays]
    threads = [
        threading.Thread(target=run_relay, args=(engine, settings))
        for engine, settings in zip(engines, relays, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for engine in engines:
        engine.dispose()
    state = read_all(mysql_engine)
    assert len(state["downloads"]) == 24
    assert {d["status"] for d in state["downloads"]} == {UPLOADED}
    per_download = Counter(h["download_id"] for h in state["history"])
    assert set(per_download.values()) == {1}  # one attempt each: nobody uploaded twice
    assert {h["outcome"] for h in state["history"]} == {OUTCOME_UPLOADED}
    assert {h["attempt"] for h in state["history"]} == {1}
    assert {o["state"] for o in state["outbox"]} == {OUTBOX_DONE}
    for download in state["downloads"]:
        info = s3_store.head(download["object_key"])
        assert info is not None
        assert info.sha256 == download["sha256"]


def test_expired_lease_is_reclaimed_and_the_old_holders_flip_rejected(
    mysql_engine: sa.Engine, s3_settings: Settings, s3_store: S3Store
) -> None:
    commit_analysis(mysql_engine, s3_settings, "lease-1", {ArtifactFormat.CSV: CSV})
    volume = s3_settings.staging_volume_id
    (old,) = claim_batch(mysql_engine, volume=volume, owner="old", batch_size=5, lease_seconds=1)
    assert (
        claim_batch(mysql_engine, volume=volume, owner="new", batch_size=5, lease_seconds=60) == []
    )
    time.sleep(1.3)
    (new,) = claim_batch(mysql_engine, volume=volume, owner="new", batch_size=5, lease_seconds=60)
    assert new.outbox_id == old.outbox_id
    assert new.attempt == 2
    new_report = attempt_upload(new, s3_store, s3_settings)
    assert flip_outcome(mysql_engine, new, new_report, actor="new") is FlipResult.APPLIED
    late = attempt_upload(old, s3_store, s3_settings)
    assert late.outcome == OUTCOME_ALREADY_PRESENT
    assert flip_outcome(mysql_engine, old, late, actor="old") is FlipResult.LEASE_LOST
    state = read_all(mysql_engine)
    assert (state["outbox"][0]["state"], state["outbox"][0]["lease_token"]) == (
        OUTBOX_DONE,
        new.lease_token,
    )
    assert [(h["actor"], h["outcome"]) for h in state["history"]] == [
        ("old", OUTCOME_ABANDONED),  # recorded by the reclaim: the lease had expired
        ("new", OUTCOME_UPLOADED),
        ("old", OUTCOME_LEASE_LOST),
    ]


def test_s3_unreachable_is_retried_then_uploaded_when_back(
    make_settings: MakeSettings, mysql_engine: sa.Engine
) -> None:
    down = make_settings(
        S3_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",
        RELAY_MAX_ATTEMPTS="5",
        RELAY_BACKOFF_BASE_SECONDS="30",
        RELAY_BACKOFF_MAX_SECONDS="30",
    )
    commit_analysis(mysql_engine, down, "down-1", {ArtifactFormat.CSV: CSV})
    worker = RelayWorker(mysql_engine, S3Store.from_settings(down), down)
    summary = worker.run_batch()
    worker.close()
    assert summary.outcomes == {OUTCOME_RETRY: 1}
    state = read_all(mysql_engine)
    assert state["outbox"][0]["state"] == OUTBOX_PENDING
    assert state["outbox"][0]["last_error_class"] == "connection"
    assert state["downloads"][0]["status"] == "pending"
    with mysql_engine.begin() as conn:  # the backoff has passed
        conn.execute(outbox.update().values(available_at=utcnow() - timedelta(seconds=1)))
    run_relay(mysql_engine, make_settings())
    state = read_all(mysql_engine)
    assert state["downloads"][0]["status"] == UPLOADED
    assert [(h["outcome"], h["error_class"], h["attempt"]) for h in state["history"]] == [
        (OUTCOME_RETRY, "connection", 1),
        (OUTCOME_UPLOADED, None, 2),
    ]


def test_wrong_credentials_fail_at_once_as_access_denied(
    make_settings: MakeSettings, mysql_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(RELAY_MAX_ATTEMPTS="5")
    commit_analysis(mysql_engine, settings, "denied-1", {ArtifactFormat.CSV: CSV})
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    store = S3Store.from_settings(settings)
    worker = RelayWorker(mysql_engine, store, settings)
    worker.drain()
    worker.close()
    state = read_all(mysql_engine)
    assert [(h["outcome"], h["error_class"]) for h in state["history"]] == [
        (OUTCOME_FAILED, "access_denied")
    ]
    assert state["outbox"][0]["state"] == OUTBOX_DEAD
    assert state["downloads"][0]["status"] == UPLOAD_FAILED
    assert "SignatureDoesNotMatch" in state["downloads"][0]["last_error"]


def test_missing_staged_file_is_terminal_and_others_still_upload(
    mysql_engine: sa.Engine, s3_settings: Settings
) -> None:
    committed = commit_analysis(
        mysql_engine, s3_settings, "missing-1", {ArtifactFormat.CSV: CSV, ArtifactFormat.JSON: JSON}
    )
    (s3_settings.staging_dir / (committed.artifacts[0].staged_path or "")).unlink()
    run_relay(mysql_engine, s3_settings)
    state = read_all(mysql_engine)
    statuses = {d["download_id"]: d["status"] for d in state["downloads"]}
    assert statuses == {
        committed.artifacts[0].spec.download_id: UPLOAD_FAILED,
        committed.artifacts[1].spec.download_id: UPLOADED,
    }
    failed = [h for h in state["history"] if h["outcome"] == OUTCOME_FAILED]
    assert [h["error_class"] for h in failed] == ["missing_staged_file"]


def _raw_client(server: S3Server) -> object:
    return server.client()


def test_existing_key_with_same_bytes_is_success_and_different_bytes_a_conflict(
    mysql_engine: sa.Engine, s3_settings: Settings, s3_server: S3Server, s3_bucket: str
) -> None:
    committed = commit_analysis(
        mysql_engine, s3_settings, "exists-1", {ArtifactFormat.CSV: CSV, ArtifactFormat.JSON: JSON}
    )
    same, different = committed.artifacts
    client = _raw_client(s3_server)
    client.put_object(  # type: ignore[attr-defined]
        Bucket=s3_bucket, Key=same.object_key, Body=CSV, Metadata={"sha256": same.sha256}
    )
    other = b'{"someone": "else"}'
    client.put_object(  # type: ignore[attr-defined]
        Bucket=s3_bucket,
        Key=different.object_key,
        Body=other,
        Metadata={"sha256": hashlib.sha256(other).hexdigest()},
    )
    run_relay(mysql_engine, s3_settings)
    state = read_all(mysql_engine)
    outcomes = {h["download_id"]: (h["outcome"], h["error_class"]) for h in state["history"]}
    assert outcomes == {
        same.spec.download_id: (OUTCOME_ALREADY_PRESENT, None),
        different.spec.download_id: (OUTCOME_FAILED, "conflict"),
    }
    statuses = {d["download_id"]: d for d in state["downloads"]}
    assert statuses[same.spec.download_id]["status"] == UPLOADED
    assert statuses[different.spec.download_id]["status"] == UPLOAD_FAILED
    assert "already holds different bytes" in statuses[different.spec.download_id]["last_error"]


def test_report_presign_serves_exact_bytes_then_expires(
    make_settings: MakeSettings, mysql_engine: sa.Engine
) -> None:
    settings = make_settings(PRESIGN_TTL_SECONDS="2")
    commit_analysis(mysql_engine, settings, "presign-1", {ArtifactFormat.CSV: CSV})
    run_relay(mysql_engine, settings)
    stored = load_report(mysql_engine, "presign-1")
    assert stored is not None
    rendered = render_report(stored, build_presigner(settings))
    (entry,) = rendered["report"]["downloads"]
    with urllib.request.urlopen(entry["presigned_url"], timeout=10) as response:
        assert response.read() == CSV
    again = load_report(mysql_engine, "presign-1")
    assert again is not None
    assert "presigned_url" not in again["report"]["downloads"][0]  # never stored
    time.sleep(3.5)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(entry["presigned_url"], timeout=10)
    assert caught.value.code == 403
