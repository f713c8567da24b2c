"""Workers that die, and workers that race, on SQLite and on MariaDB: every job is committed
exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from domain.downloads.entries import ARTIFACT_KINDS
from outbox.crashpoints import BEFORE_COMMIT, CRASH_EXIT_CODE
from outbox.db import create_database_engine
from outbox.migrations import upgrade
from outbox.settings import Settings
from outbox.tables import analysis_jobs, analysis_reports, downloads, outbox

ORDERS = Path(__file__).resolve().parents[2] / "fixtures" / "messy_orders.csv"
CLI = [sys.executable, "-m", "clean_my_data.main"]


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    (tmp_path / "staging").mkdir()
    url = (
        f"sqlite:///{tmp_path / 'db.sqlite3'}"
        if request.param == "sqlite"
        else request.getfixturevalue("mysql_url")
    )
    environment = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
        "PYTHONPATH": str(Path(__file__).resolve().parents[3]),
        "DATABASE_URL": url,
        "ARTIFACT_STORE_URL": f"file://{tmp_path / 'store'}",
        "STAGING_DIR": str(tmp_path / "staging"),
        "WORKER_SCRATCH_DIR": str(tmp_path / "scratch"),
        "JOB_LEASE_SECONDS": "2",
        "LOG_FORMAT": "json",
    }
    engine = create_database_engine(Settings.from_env(environment))
    upgrade(engine)
    engine.dispose()
    return environment


def _run(env: dict[str, str], *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        env={**env, **extra},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _counts(env: dict[str, str]) -> tuple[int, int, int]:
    engine = create_database_engine(Settings.from_env(env))
    try:
        with engine.connect() as conn:
            return tuple(  # type: ignore[return-value]
                int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
                for t in (analysis_reports, downloads, outbox)
            )
    finally:
        engine.dispose()


def _job(env: dict[str, str]) -> sa.Row:
    engine = create_database_engine(Settings.from_env(env))
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(analysis_jobs)).one()
    finally:
        engine.dispose()


def test_a_worker_killed_before_its_commit_is_retried_and_commits_once(
    env: dict[str, str],
) -> None:
    submitted = _run(env, "submit", str(ORDERS), "--analysis-id", "killed")
    assert submitted.returncode == 0, submitted.stderr

    crashed = _run(env, "worker", "--once", CLEAN_MY_DATA_CRASH_AT=BEFORE_COMMIT)
    assert crashed.returncode == CRASH_EXIT_CODE, crashed.stderr
    assert _counts(env) == (0, 0, 0)
    job = _job(env)
    assert (job.status, job.attempts) == ("running", 1)

    time.sleep(2.5)  # JOB_LEASE_SECONDS
    finished = _run(env, "worker", "--once")
    assert finished.returncode == 0, finished.stderr
    job = _job(env)
    assert (job.status, job.attempts, job.error_class) == ("succeeded", 2, None)
    assert _counts(env) == (1, len(ARTIFACT_KINDS), len(ARTIFACT_KINDS))


def test_two_workers_and_one_job_commit_once(env: dict[str, str]) -> None:
    submitted = _run(env, "submit", str(ORDERS), "--analysis-id", "raced")
    assert submitted.returncode == 0, submitted.stderr
    workers = [
        subprocess.Popen(
            [*CLI, "worker", "--once"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=180) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    claims = sum(err.count('"job_claimed"') for _, err in outputs)
    assert claims == 1
    job = _job(env)
    assert (job.status, job.attempts) == ("succeeded", 1)
    assert _counts(env) == (1, len(ARTIFACT_KINDS), len(ARTIFACT_KINDS))


def test_the_attempts_run_out_and_the_job_fails_with_the_last_error(
    env: dict[str, str],
) -> None:
    assert _run(env, "submit", str(ORDERS), "--analysis-id", "doomed").returncode == 0
    for _ in range(3):  # JOB_MAX_ATTEMPTS defaults to 3
        crashed = _run(env, "worker", "--once", CLEAN_MY_DATA_CRASH_AT=BEFORE_COMMIT)
        assert crashed.returncode == CRASH_EXIT_CODE
        time.sleep(2.5)
    assert _run(env, "worker", "--once").returncode == 0
    job = _job(env)
    assert (job.status, job.attempts, job.error_class) == ("failed", 3, "lease_expired")
    assert _counts(env) == (0, 0, 0)
    waited = _run(env, "submit", str(ORDERS), "--analysis-id", "doomed", "--wait", "5")
    assert waited.returncode == 1
    assert "failed" in waited.stderr.splitlines()[-1]


def test_sigterm_lets_the_running_job_finish_then_the_worker_exits(
    env: dict[str, str], tmp_path: Path
) -> None:
    big = tmp_path / "big.csv"
    with big.open("w") as handle:
        handle.write("id,name,amount,city\n")
        for i in range(300_000):
            handle.write(f"{i},name {i % 997},{i * 3 % 1000}.5,city {i % 89}\n")
    assert _run(env, "submit", str(big), "--analysis-id", "termed").returncode == 0
    worker = subprocess.Popen(
        [*CLI, "worker"],
        env={**env, "JOB_LEASE_SECONDS": "30"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while _job(env).status != "running":
            assert time.monotonic() < deadline, "the worker never claimed the job"
            time.sleep(0.1)
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=180)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, stderr
    assert '"worker_stop_requested"' in stderr
    job = _job(env)
    assert (job.status, job.attempts) == ("succeeded", 1)
    assert _counts(env) == (1, len(ARTIFACT_KINDS), len(ARTIFACT_KINDS))
