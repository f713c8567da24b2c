"""history, requeue and verify against MariaDB, the real S3 server and the real relay."""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path

import pytest
import sqlalchemy as sa

from domain.downloads.entries import ARTIFACT_KINDS
from outbox import tables as t
from outbox.audit.requeue import Selection, Verdict, requeue_downloads
from outbox.reports import load_report
from outbox.settings import Settings
from relay.stores.base import ErrorClass, ObjectStore
from relay.verify import verify
from tests.integration.audit.conftest import ScriptedStore, analyze, drain_relay, run_cli
from tests.support.seaweed import S3Server

pytestmark = [pytest.mark.mariadb, pytest.mark.s3]


def _downloads(engine: sa.Engine, analysis_id: str) -> dict[str, dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.downloads).where(t.downloads.c.analysis_id == analysis_id)
        ).mappings()
        return {row["format"]: dict(row) for row in rows}


def _history(*args: str) -> list[dict[str, object]]:
    code, out = run_cli("history", "--json", *args)
    assert code == 0
    return [json.loads(line) for line in out.splitlines()]


def test_history_lists_two_failed_attempts_then_the_success(
    engine: sa.Engine, store: ObjectStore, settings: Settings
) -> None:
    analyze("hist-1")
    csv_key = str(_downloads(engine, "hist-1")["csv"]["object_key"])
    flaky = ScriptedStore(store, per_key={csv_key: [ErrorClass.TIMEOUT, ErrorClass.THROTTLED]})
    drain_relay(engine, flaky, settings)
    rows = _downloads(engine, "hist-1")
    assert {row["status"] for row in rows.values()} == {t.UPLOADED}

    entries = _history("--analysis-id", "hist-1")
    retried = {e["download_id"] for e in entries if e["outcome"] == t.OUTCOME_RETRY}
    download_id = rows["csv"]["download_id"]
    assert retried == {download_id}
    attempts = _history("--download-id", str(download_id))
    assert [(e["attempt"], e["outcome"], e["error_class"]) for e in attempts] == [
        (1, t.OUTCOME_RETRY, "timeout"),
        (2, t.OUTCOME_RETRY, "throttled"),
        (3, t.OUTCOME_UPLOADED, None),
    ]
    success = attempts[-1]
    row = next(r for r in rows.values() if r["download_id"] == download_id)
    assert success["actor"] == "relay-it:1"
    assert success["bytes"] == row["size_bytes"]
    assert success["object_key"] == row["object_key"]
    assert success["etag"]
    assert success["duration_ms"] >= 0
    assert all(e["recorded_at"] <= f["recorded_at"] for e, f in pairwise(attempts))

    code, table = run_cli("history", "--download-id", str(download_id))
    assert code == 0
    lines = table.splitlines()
    assert lines[0].startswith("TIME (UTC)")
    assert len(lines) == 4
    assert "timeout: scripted timeout" in lines[1]

    assert verify(engine, store, settings).problems == ()


def test_requeue_brings_an_upload_failed_download_to_uploaded(
    engine: sa.Engine, store: ObjectStore, settings: Settings
) -> None:
    analyze("rq-1")
    denied = ScriptedStore(store, [ErrorClass.ACCESS_DENIED] * len(ARTIFACT_KINDS))
    drain_relay(engine, denied, settings)
    rows = _downloads(engine, "rq-1")
    assert {row["status"] for row in rows.values()} == {t.UPLOAD_FAILED}
    assert verify(engine, store, settings).problems == ()  # failed is a consistent state

    code, out = run_cli(
        "requeue", "--analysis-id", "rq-1", "--dry-run", "--reason", "policy fixed", "--json"
    )
    assert code == 0
    assert {json.loads(line)["verdict"] for line in out.splitlines()} == {"would_requeue"}
    assert {row["status"] for row in _downloads(engine, "rq-1").values()} == {t.UPLOAD_FAILED}

    code, out = run_cli(
        "requeue", "--failed", "--error-class", "access_denied", "--reason", "policy fixed"
    )
    assert code == 0, out
    assert f"{len(ARTIFACT_KINDS)} requeued" in out
    code, out = run_cli("requeue", "--analysis-id", "rq-1", "--reason", "again")
    assert code == 0
    assert f"{len(ARTIFACT_KINDS)} not_failed" in out  # a second requeue changes nothing
    with engine.connect() as conn:
        live = conn.execute(
            sa.select(sa.func.count())
            .select_from(t.outbox)
            .where(t.outbox.c.analysis_id == "rq-1", t.outbox.c.state == t.OUTBOX_PENDING)
        ).scalar_one()
    assert live == len(ARTIFACT_KINDS)
    assert verify(engine, store, settings).problems == ()

    drain_relay(engine, store, settings)
    rows = _downloads(engine, "rq-1")
    assert {row["status"] for row in rows.values()} == {t.UPLOADED}
    report = load_report(engine, "rq-1")
    assert report is not None
    assert {e["status"] for e in report["report"]["downloads"]} == {t.UPLOADED}
    csv_id = str(rows["csv"]["download_id"])
    outcomes = [(e["event"], e["outcome"]) for e in _history("--download-id", csv_id)]
    assert outcomes == [
        ("upload", "failed"),
        ("requeue", "requeued"),
        ("upload", "uploaded"),
    ]
    requeue_row = _history("--download-id", csv_id, "--outcome", "requeued")[0]
    assert requeue_row["reason"] == "policy fixed"
    assert "@" in str(requeue_row["actor"])
    assert verify(engine, store, settings).problems == ()


def test_requeue_without_staged_file_says_regenerate(
    engine: sa.Engine, store: ObjectStore, settings: Settings
) -> None:
    analyze("rq-2")
    drain_relay(
        engine, ScriptedStore(store, [ErrorClass.NO_SUCH_BUCKET] * len(ARTIFACT_KINDS)), settings
    )
    rows = _downloads(engine, "rq-2")
    (settings.staging_dir / str(rows["xlsx"]["staged_path"])).unlink()
    code, out = run_cli(
        "requeue", "--download-id", str(rows["xlsx"]["download_id"]), "--reason", "retry"
    )
    assert code == 1
    assert "regenerate" in out
    assert "clean-my-data analyze INPUT --analysis-id rq-2" in out
    assert _downloads(engine, "rq-2")["xlsx"]["status"] == t.UPLOAD_FAILED


def _s3_client(server: S3Server) -> object:
    return server.client()


def test_verify_reports_each_invariant_broken_on_purpose(
    engine: sa.Engine,
    store: ObjectStore,
    settings: Settings,
    s3_server: S3Server,
    s3_bucket: str,
) -> None:
    analyze("v-up")
    drain_relay(engine, store, settings)
    analyze("v-pending")  # left pending: staged files and live outbox records
    code, out = run_cli("verify")
    assert (code, out) == (0, "")

    up = _downloads(engine, "v-up")
    pending = _downloads(engine, "v-pending")
    client = _s3_client(s3_server)
    # 1: object deleted; object overwritten with other bytes of the same size; a stray object
    store.delete(str(up["csv"]["object_key"]))
    size = int(up["json"]["size_bytes"])  # type: ignore[call-overload]
    client.put_object(Bucket=s3_bucket, Key=up["json"]["object_key"], Body=b"x" * size)
    client.put_object(Bucket=s3_bucket, Key="audit/it/clean-my-data/ghost/x.csv", Body=b"boo")
    # 2: staged file deleted
    (settings.staging_dir / str(pending["csv"]["staged_path"])).unlink()
    # 3: report JSON edited
    r = t.analysis_reports
    with engine.begin() as conn:
        report = conn.execute(sa.select(r.c.report).where(r.c.analysis_id == "v-up")).scalar_one()
        if isinstance(report, str):
            report = json.loads(report)
        report["report"]["downloads"][0]["size_bytes"] = 1
        conn.execute(sa.update(r).where(r.c.analysis_id == "v-up").values(report=report))
    # 4: an old staged file nobody needs
    stale = settings.staging_dir / "stale.csv"
    stale.write_bytes(b"old")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    # 5: a lease that expired long ago
    with engine.begin() as conn:
        conn.execute(
            sa.update(t.outbox)
            .where(t.outbox.c.download_id == pending["json"]["download_id"])
            .values(
                lease_token="dead-relay-token",
                lease_owner="relay-dead:9",
                lease_expires_at=sa.func.utc_timestamp() - sa.text("INTERVAL 10 MINUTE"),
            )
        )
    # 6: an attempt missing from the history
    with engine.begin() as conn:
        conn.execute(
            sa.delete(t.outbox_attempts).where(
                t.outbox_attempts.c.download_id == up["xlsx"]["download_id"]
            )
        )

    code, out = run_cli("verify")
    assert code == 1
    found = {(line.split()[1], line.split()[2].rstrip(":")) for line in out.splitlines()}
    assert found == {
        ("1", "object_missing"),
        ("1", "object_sha256_unknown"),
        ("1", "orphan_object"),
        ("2", "staged_file_missing"),
        ("3", "report_entry_differs"),
        ("4", "staged_file_orphaned"),
        ("5", "lease_expired"),
        ("6", "attempts_missing_from_history"),
    }
    assert len(out.splitlines()) == 8
    code, out = run_cli("verify", "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[-1]["summary"]["consistent"] is False
    assert lines[-1]["summary"]["problems"] == 8
    assert {p["invariant"] for p in lines[:-1]} == {1, 2, 3, 4, 5, 6}


def test_views_on_mariadb(engine: sa.Engine, store: ObjectStore, settings: Settings) -> None:
    analyze("views-1")
    drain_relay(engine, ScriptedStore(store, [ErrorClass.TIMEOUT]), settings)
    with engine.connect() as conn:
        backlog = {
            (row.source, row.status): row.row_count
            for row in conn.execute(sa.text("SELECT * FROM audit_backlog_by_status"))
        }
        oldest = conn.execute(sa.text("SELECT * FROM audit_oldest_pending")).one()
        failures = conn.execute(sa.text("SELECT * FROM audit_failures_by_error_class")).all()
        timeline = conn.execute(
            sa.text(
                "SELECT event, outcome FROM audit_analysis_timeline "
                "WHERE analysis_id = 'views-1' ORDER BY happened_at, seq"
            )
        ).all()
        leases = conn.execute(sa.text("SELECT * FROM audit_expired_leases")).all()
    assert backlog == {
        ("downloads", "uploaded"): len(ARTIFACT_KINDS),
        ("outbox", "done"): len(ARTIFACT_KINDS),
    }
    assert oldest.pending_rows == 0
    assert [(f.error_class, f.retries, f.terminal_failures) for f in failures] == [
        ("timeout", 1, 0)
    ]
    events = [tuple(row) for row in timeline]
    assert events[0] == ("analysed", "success")
    assert events.count(("upload", "uploaded")) == len(ARTIFACT_KINDS)
    assert ("upload", "retry_scheduled") in events
    assert leases == []


def test_purge_on_mariadb_keeps_history(
    engine: sa.Engine, store: ObjectStore, settings: Settings, tmp_path: Path
) -> None:
    analyze("purge-1")
    drain_relay(engine, store, settings)
    with engine.begin() as conn:
        conn.execute(
            sa.update(t.outbox).values(
                finished_at=sa.func.utc_timestamp() - sa.text("INTERVAL 40 DAY")
            )
        )
    code, out = run_cli("purge", "--dry-run")
    assert code == 0
    assert out.startswith(f"would delete {len(ARTIFACT_KINDS)} finished outbox records")
    code, out = run_cli("purge", "--batch-size", "2")
    assert out.startswith(f"deleted {len(ARTIFACT_KINDS)} finished outbox records")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.outbox)).scalar_one() == 0
        history = conn.execute(
            sa.select(sa.func.count()).select_from(t.outbox_attempts)
        ).scalar_one()
    assert history == len(ARTIFACT_KINDS)
    # history outlives the records: verify still sees the uploads as consistent
    assert verify(engine, store, settings).problems == ()


def test_concurrent_requeues_leave_one_live_record(
    engine: sa.Engine, store: ObjectStore, settings: Settings
) -> None:
    analyze("rq-race")
    drain_relay(
        engine, ScriptedStore(store, [ErrorClass.ACCESS_DENIED] * len(ARTIFACT_KINDS)), settings
    )
    download_id = str(_downloads(engine, "rq-race")["csv"]["download_id"])
    barrier = threading.Barrier(4)

    def requeue_once(number: int) -> list[Verdict]:
        barrier.wait()
        outcomes = requeue_downloads(
            engine,
            settings,
            Selection(download_id=download_id),
            reason=f"racer {number}",
            actor=f"ops{number}@host",
        )
        return [o.verdict for o in outcomes]

    with ThreadPoolExecutor(max_workers=4) as pool:
        verdicts = [v for result in pool.map(requeue_once, range(4)) for v in result]
    assert verdicts.count(Verdict.REQUEUED) == 1
    assert set(verdicts) <= {Verdict.REQUEUED, Verdict.ALREADY_REQUEUED, Verdict.NOT_FAILED}
    with engine.connect() as conn:
        live = conn.execute(
            sa.select(sa.func.count())
            .select_from(t.outbox)
            .where(t.outbox.c.download_id == download_id, t.outbox.c.state == t.OUTBOX_PENDING)
        ).scalar_one()
        requeues = conn.execute(
            sa.select(sa.func.count())
            .select_from(t.outbox_attempts)
            .where(
                t.outbox_attempts.c.download_id == download_id,
                t.outbox_attempts.c.event == t.EVENT_REQUEUE,
            )
        ).scalar_one()
    assert (live, requeues) == (1, 1)
