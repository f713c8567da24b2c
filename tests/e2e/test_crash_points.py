"""Crash at each named point (``CLEAN_MY_DATA_CRASH_AT``, ``os._exit(86)``), restart without it,
and check every invariant: with ``verify --deep`` and with our own SQL and object listings.

Transformer points: the crashed ``analyze`` is re-run with the same ``--analysis-id``. Relay
points: the crashed ``relay --once`` is re-run after its lease expired. Each case first checks
that the crash happened where its name says (what is committed, staged and stored at that
moment), then that recovery reaches the one end state: every download uploaded with the right
bytes, nothing staged, every attempt in the history.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from outbox import crashpoints
from tests.e2e.harness import (
    CRASH_EXIT,
    EXAMPLE,
    LEASE_SECONDS,
    Harness,
    build_harness,
    sha256_of,
    write_multipart_csv,
)
from tests.support.seaweed import S3Server

pytestmark = [pytest.mark.mariadb, pytest.mark.s3]

ANALYSIS = "crash-1"


@pytest.fixture
def harness(tmp_path: Path, mysql_url: str, s3_server: S3Server, s3_bucket: str) -> Harness:
    return build_harness(tmp_path, mysql_url, s3_server, s3_bucket)


def _crash(result_code: int, stderr: str, point: str) -> None:
    assert result_code == CRASH_EXIT, stderr
    assert f"crash point {point} reached" in stderr
    assert "Traceback" not in stderr


def _recover_relay(harness: Harness) -> None:
    time.sleep(LEASE_SECONDS + 0.5)  # the crashed relay's lease expires
    done = harness.relay_once(RELAY_ORPHAN_GRACE_SECONDS="0")
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "point", [crashpoints.AFTER_STAGING, crashpoints.BEFORE_COMMIT, crashpoints.AFTER_COMMIT]
)
def test_transformer_crash_then_rerun_and_relay_reach_a_consistent_end(
    harness: Harness, point: str
) -> None:
    crashed = harness.analyze(EXAMPLE, ANALYSIS, CLEAN_MY_DATA_CRASH_AT=point)
    _crash(crashed.returncode, crashed.stderr, point)
    assert crashed.stdout == ""  # nothing reported to the caller
    staged = harness.staged_files()
    assert len(staged) == 4  # every artifact was staged before the crash
    if point == crashpoints.AFTER_COMMIT:
        rows = harness.downloads()
        assert {r["status"] for r in rows} == {"pending"}
        assert sorted(r["staged_path"] for r in rows) == staged
        assert len(harness.outbox()) == 4
    else:  # nothing committed: the staged files are orphans
        assert harness.report_rows() == []
        assert harness.downloads() == []
        assert harness.outbox() == []

    rerun = harness.analyze(EXAMPLE, ANALYSIS)
    assert rerun.returncode == 0, rerun.stderr
    assert len(harness.report_rows()) == 1
    _recover_relay(harness)
    harness.assert_recovered({ANALYSIS})


def test_relay_crash_after_claim_is_reclaimed_and_the_lost_attempt_recorded(
    harness: Harness,
) -> None:
    assert harness.analyze(EXAMPLE, ANALYSIS).returncode == 0
    crashed = harness.relay_once(CLEAN_MY_DATA_CRASH_AT=crashpoints.AFTER_CLAIM)
    _crash(crashed.returncode, crashed.stderr, crashpoints.AFTER_CLAIM)
    leased = harness.outbox()
    assert all(r["lease_token"] and r["attempts"] == 1 for r in leased)
    assert harness.object_keys() == set()
    assert harness.history() == []

    _recover_relay(harness)
    harness.assert_recovered({ANALYSIS})
    assert {r["attempts"] for r in harness.outbox()} == {2}
    abandoned = [h for h in harness.history() if h["outcome"] == "abandoned"]
    assert sorted(h["attempt"] for h in abandoned) == [1, 1, 1, 1]


def test_relay_crash_mid_multipart_upload_leaves_no_object_and_is_retried(
    harness: Harness, tmp_path: Path
) -> None:
    big = tmp_path / "big.csv"
    write_multipart_csv(big)
    assert harness.analyze(big, ANALYSIS).returncode == 0
    csv_row = next(r for r in harness.downloads() if r["format"] == "csv")
    assert csv_row["size_bytes"] > 5 * 1024 * 1024  # multipart

    crashed = harness.relay_once(
        CLEAN_MY_DATA_CRASH_AT=crashpoints.MID_UPLOAD, RELAY_CONCURRENCY="1", RELAY_BATCH_SIZE="1"
    )
    _crash(crashed.returncode, crashed.stderr, crashpoints.MID_UPLOAD)
    key = csv_row["s3_path"].split("/", 3)[3]
    assert key not in harness.object_keys()  # a part was sent; no object exists
    assert harness.s3_client().list_multipart_uploads(Bucket=harness.bucket).get("Uploads")
    (csv_now,) = [r for r in harness.downloads() if r["format"] == "csv"]
    assert csv_now["status"] == "pending"

    _recover_relay(harness)
    harness.assert_recovered({ANALYSIS})
    assert sha256_of(harness.object_bytes(key)) == csv_row["sha256"]


def test_relay_crash_after_upload_before_flip_finds_the_object_already_present(
    harness: Harness,
) -> None:
    assert harness.analyze(EXAMPLE, ANALYSIS).returncode == 0
    crashed = harness.relay_once(
        CLEAN_MY_DATA_CRASH_AT=crashpoints.AFTER_UPLOAD, RELAY_CONCURRENCY="1"
    )
    _crash(crashed.returncode, crashed.stderr, crashpoints.AFTER_UPLOAD)
    assert len(harness.object_keys()) == 1  # written, but the database does not know
    assert {r["status"] for r in harness.downloads()} == {"pending"}
    assert harness.history() == []

    _recover_relay(harness)
    harness.assert_recovered({ANALYSIS})
    outcomes = sorted(h["outcome"] for h in harness.history() if h["event"] == "upload")
    # the crashed batch's four attempts are abandoned; the object written before the crash is
    # found by the create-only write (same bytes), the two others are uploaded now
    assert outcomes == ["abandoned"] * 4 + ["already_present"] + ["uploaded"] * 3


def test_relay_crash_after_flip_keeps_the_flip_and_removes_the_staged_file_later(
    harness: Harness,
) -> None:
    assert harness.analyze(EXAMPLE, ANALYSIS).returncode == 0
    crashed = harness.relay_once(
        CLEAN_MY_DATA_CRASH_AT=crashpoints.AFTER_FLIP, RELAY_CONCURRENCY="1"
    )
    _crash(crashed.returncode, crashed.stderr, crashpoints.AFTER_FLIP)
    # The first flip commit (one upload, or several that finished together: group commit)
    # is kept, and the staged files of what it flipped are still there.
    flipped = [r for r in harness.downloads() if r["status"] == "uploaded"]
    assert 1 <= len(flipped) <= 4
    assert {r["staged_path"] for r in flipped} <= set(harness.staged_files())
    assert len(harness.history()) == len(flipped)

    _recover_relay(harness)  # uploads the rest; the sweep removes the flipped ones' files
    harness.assert_recovered({ANALYSIS})
    outcomes = Counter(h["outcome"] for h in harness.history() if h["event"] == "upload")
    # nothing flipped was uploaded again; what was claimed with it and not flipped before the
    # crash was recorded as abandoned when reclaimed (the pool may already have written the next
    # object: then the create-only write finds it, already_present)
    assert outcomes["abandoned"] == 4 - len(flipped)
    assert outcomes["uploaded"] + outcomes["already_present"] == 4
    attempts = sorted(r["attempts"] for r in harness.outbox())
    assert attempts == [1] * len(flipped) + [2] * (4 - len(flipped))
