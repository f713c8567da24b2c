"""Faults around the real CLI: the S3 server crashing and coming back, S3 unreachable for good
then requeued, the relay's database connections killed mid-batch, the staging disk full during
``analyze``, and a slow S3 server with two relays (leases renewed or taken over, never two
flips).
"""

from __future__ import annotations

import contextlib
import os
import resource
import secrets
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.e2e.harness import (
    CLI,
    EXAMPLE,
    Harness,
    TcpProxy,
    build_harness,
    non_log_lines,
    wait_until,
)
from tests.support import seaweed
from tests.support.ports import free_port
from tests.support.seaweed import S3Server

pytestmark = [pytest.mark.mariadb, pytest.mark.s3]


@pytest.fixture
def harness(tmp_path: Path, mysql_url: str, s3_server: S3Server, s3_bucket: str) -> Harness:
    return build_harness(tmp_path, mysql_url, s3_server, s3_bucket)


def statuses(harness: Harness) -> Counter[str]:
    return Counter(row["status"] for row in harness.downloads())


def outcomes(harness: Harness) -> Counter[str]:
    return Counter(row["outcome"] for row in harness.history())


def stop_cleanly(process: subprocess.Popen[bytes], harness: Harness, log_name: str) -> None:
    """SIGTERM once the relay is up; it must exit 0 (it was alive all along)."""
    log = harness.root / "logs" / log_name
    assert wait_until(lambda: '"event": "relay_started"' in log.read_text(), timeout=60)
    assert process.poll() is None, log.read_text()[-3000:]
    os.killpg(process.pid, signal.SIGTERM)
    assert process.wait(timeout=60) == 0, log.read_text()[-3000:]


def analyze_all(harness: Harness, count: int, prefix: str) -> set[str]:
    ids = {f"{prefix}-{i}" for i in range(count)}
    for analysis_id in sorted(ids):
        done = harness.analyze(EXAMPLE, analysis_id)
        assert done.returncode == 0, done.stderr
    return ids


# --- S3 down for a while / for good ------------------------------------------------------------


@pytest.fixture(scope="module")
def private_s3() -> Iterator[list[S3Server]]:
    """A SeaweedFS of our own that the test may kill and restart (a one-item list: resuming
    gives a new handle)."""
    holder = [seaweed.start_seaweed()]
    try:
        yield holder
    finally:
        seaweed.halt_seaweed(holder[0])  # SIGKILL: weed takes 15 s to honour SIGTERM
        seaweed.stop_seaweed(holder[0])  # removes its data directory


def test_s3_server_crashes_and_comes_back_and_the_retries_succeed(
    tmp_path: Path, mysql_url: str, private_s3: list[S3Server]
) -> None:
    server = private_s3[0]
    bucket = f"faults-{secrets.token_hex(4)}"
    server.client().create_bucket(Bucket=bucket)
    harness = build_harness(tmp_path, mysql_url, server, bucket)
    ids = analyze_all(harness, 1, "s3-down")

    seaweed.halt_seaweed(server)  # killed, as in a crash
    relay = harness.spawn(
        "relay",
        log_name="relay.log",
        env={"RELAY_MAX_ATTEMPTS": "100", "RELAY_BACKOFF_MAX_SECONDS": "1"},
    )
    try:
        assert wait_until(lambda: outcomes(harness)["retry_scheduled"] >= 4, timeout=60)
        assert statuses(harness) == {"pending": 4}
        private_s3[0] = server = seaweed.resume_seaweed(server)
        assert wait_until(lambda: statuses(harness) == {"uploaded": 4}, timeout=90)
        stop_cleanly(relay, harness, "relay.log")
    finally:
        if relay.poll() is None:
            os.killpg(relay.pid, signal.SIGKILL)
    failures = [h for h in harness.history() if h["outcome"] == "retry_scheduled"]
    assert all(h["error_class"] and h["error_message"] for h in failures)
    harness.assert_recovered(ids)


def test_s3_gone_for_good_ends_upload_failed_then_requeue_finishes_once_back(
    harness: Harness,
) -> None:
    ids = analyze_all(harness, 1, "s3-gone")
    gone = {
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        "RELAY_MAX_ATTEMPTS": "2",
        # a failed download's staged file is kept for requeue until the grace period ends
        "RELAY_ORPHAN_GRACE_SECONDS": "600",
    }
    for _ in range(3):  # --once also takes retries that fall due while it drains
        run = harness.relay_once(**gone)
        assert run.returncode == 0, run.stderr
        if statuses(harness) == {"upload_failed": 4}:
            break
        time.sleep(0.6)  # past RELAY_BACKOFF_MAX_SECONDS
    rows = harness.downloads()
    assert statuses(harness) == {"upload_failed": 4}
    assert all("gave up after 2 attempts" in row["last_error"] for row in rows)
    (report,) = harness.report_rows()
    assert '"upload_failed"' in str(report["report"])
    assert harness.object_keys() == set()
    assert len(harness.staged_files()) == 4  # kept for a requeue

    requeued = harness.cli("requeue", "--failed", "--reason", "S3 endpoint restored")
    assert requeued.returncode == 0, requeued.stdout + requeued.stderr
    assert statuses(harness) == {"pending": 4}
    back = harness.relay_once(RELAY_ORPHAN_GRACE_SECONDS="0")
    assert back.returncode == 0, back.stderr
    assert outcomes(harness) == Counter(
        {"retry_scheduled": 4, "failed": 4, "requeued": 4, "uploaded": 4}
    )
    requeue_rows = [h for h in harness.history() if h["event"] == "requeue"]
    assert {h["reason"] for h in requeue_rows} == {"S3 endpoint restored"}
    harness.assert_recovered(ids)


# --- the database connection dropped mid-batch ----------------------------------------------


def kill_relay_connections(harness: Harness) -> int:
    """KILL every server connection to the test database except our own."""
    database = sa.make_url(harness.database_url).database
    engine = harness.engine()
    try:
        with engine.connect() as conn:
            ids = conn.execute(
                sa.text(
                    "SELECT id FROM information_schema.processlist "
                    "WHERE db = :db AND id <> CONNECTION_ID()"
                ),
                {"db": database},
            ).scalars()
            killed = 0
            for connection_id in list(ids):
                with contextlib.suppress(sa.exc.DBAPIError):  # it may have just ended
                    conn.execute(sa.text(f"KILL CONNECTION {int(connection_id)}"))
                    killed += 1
            return killed
    finally:
        engine.dispose()


def test_relay_reconnects_after_its_database_connections_are_killed_mid_batch(
    harness: Harness,
) -> None:
    ids = analyze_all(harness, 3, "db-drop")
    proxy = TcpProxy(harness.s3.endpoint_url)
    proxy.response_delay = 0.7  # uploads in flight while the connections die
    relay = harness.spawn(
        "relay",
        log_name="relay.log",
        env={
            "S3_ENDPOINT_URL": proxy.endpoint_url,
            "RELAY_BATCH_SIZE": "3",
            "RELAY_CONCURRENCY": "3",
        },
    )
    try:
        assert wait_until(lambda: any(r["lease_token"] for r in harness.outbox()), timeout=60)
        kills = 0
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:  # claims, renewals and flips keep hitting dead links
            kills += kill_relay_connections(harness)
            time.sleep(0.05)
        assert kills >= 1  # the relay held connections to the database, and lost them
        assert relay.poll() is None  # it did not die of it
        assert wait_until(lambda: statuses(harness) == {"uploaded": 12}, timeout=120)
        stop_cleanly(relay, harness, "relay.log")
    finally:
        if relay.poll() is None:
            os.killpg(relay.pid, signal.SIGKILL)
        proxy.close()
    time.sleep(1.1)  # orphan grace: files of flips interrupted before their deletion
    swept = harness.relay_once()
    assert swept.returncode == 0, swept.stderr
    harness.assert_recovered(ids)
    success = Counter(
        h["outbox_id"]
        for h in harness.history()
        if h["outcome"] in ("uploaded", "already_present") and h["event"] == "upload"
    )
    assert set(success.values()) == {1}  # each record flipped to done exactly once


# --- the staging disk full ---------------------------------------------------------------------


@contextlib.contextmanager
def tiny_tmpfs(path: Path, size: str) -> Iterator[None]:
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert mounted.returncode == 0, (
        "this test mounts a tiny tmpfs as STAGING_DIR and needs root (CAP_SYS_ADMIN): "
        + mounted.stderr
    )
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def write_wide_csv(path: Path) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write("id,name,city,amount,note\n")
        for i in range(4000):
            out.write(f"{i},name {i},city {i % 97},{i * 3}.5,some words for row {i}\n")
    return path


def assert_nothing_committed_or_staged(harness: Harness, staging: Path) -> None:
    assert harness.report_rows() == []
    assert harness.downloads() == []
    assert harness.outbox() == []
    assert list(staging.iterdir()) == []


def test_staging_disk_full_is_a_clear_error_with_nothing_committed(
    harness: Harness, tmp_path: Path
) -> None:
    """A real ENOSPC: STAGING_DIR on a 64 KiB tmpfs (the artifacts need more)."""
    staging = tmp_path / "tiny"
    source = write_wide_csv(tmp_path / "wide.csv")
    with tiny_tmpfs(staging, "64k"):
        result = harness.cli(
            "analyze", str(source), "--analysis-id", "full-1", env={"STAGING_DIR": str(staging)}
        )
        assert result.returncode != 0
        assert result.stdout == ""
        assert "Traceback" not in result.stderr
        assert non_log_lines(result.stderr) == [
            f"clean-my-data: error: no space left on the staging volume ({staging})"
        ]
        assert_nothing_committed_or_staged(harness, staging)


def test_staging_file_size_limit_is_a_clear_error_with_nothing_committed(
    harness: Harness, tmp_path: Path
) -> None:
    """The same without root: RLIMIT_FSIZE (SIGXFSZ ignored) makes large writes fail, EFBIG."""
    source = write_wide_csv(tmp_path / "wide.csv")

    def limit_file_size() -> Callable[[], None]:
        def apply() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

        return apply

    result = subprocess.run(
        [str(CLI), "analyze", str(source), "--analysis-id", "fsize-1"],
        cwd=harness.root,
        env=harness.env(PYTHONDONTWRITEBYTECODE="1"),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        preexec_fn=limit_file_size(),
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = non_log_lines(result.stderr)
    assert len(errors) == 1, result.stderr[-3000:]
    assert errors[0].startswith("clean-my-data: error: ")
    assert "too large" in errors[0].lower(), errors[0]
    assert_nothing_committed_or_staged(harness, harness.staging)


# --- a slow server ---------------------------------------------------------------------------


def test_slow_server_with_two_relays_renews_or_takes_over_leases_and_flips_once(
    harness: Harness,
) -> None:
    ids = analyze_all(harness, 2, "slow")
    proxy = TcpProxy(harness.s3.endpoint_url)
    proxy.response_delay = 2.5  # every S3 request outlasts the 2 s lease
    relays = [
        harness.spawn(
            "relay",
            log_name=f"relay-{n}.log",
            env={
                "S3_ENDPOINT_URL": proxy.endpoint_url,
                "RELAY_ID": f"slow-relay-{n}",
                "RELAY_BATCH_SIZE": "2",
                "RELAY_CONCURRENCY": "2",
            },
        )
        for n in range(2)
    ]
    try:
        assert wait_until(lambda: statuses(harness) == {"uploaded": 8}, timeout=120)
        for n, relay in enumerate(relays):
            stop_cleanly(relay, harness, f"relay-{n}.log")
    finally:
        for relay in relays:
            if relay.poll() is None:
                os.killpg(relay.pid, signal.SIGKILL)
        proxy.close()
    history = [h for h in harness.history() if h["event"] == "upload"]
    # every attempt outlasted the 2 s lease (the proxy holds each response 2.5 s)
    assert all(h["duration_ms"] >= 2500 for h in history if h["outcome"] == "uploaded")
    applied = Counter(
        h["outbox_id"] for h in history if h["outcome"] in ("uploaded", "already_present")
    )
    assert sorted(applied.values()) == [1] * 8  # one applied flip per record, never two
    # A lease taken over shows as the loser's lease_lost row, never as a second flip.
    for record in harness.outbox():
        assert record["state"] == "done"
    time.sleep(1.1)
    swept = harness.relay_once()
    assert swept.returncode == 0, swept.stderr
    harness.assert_recovered(ids)
    assert {h["actor"] for h in history} <= {"slow-relay-0", "slow-relay-1"}
