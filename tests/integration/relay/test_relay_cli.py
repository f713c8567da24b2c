"""``clean-my-data relay`` as a process: --once, the daemon's pickup, metrics and SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from domain.model import ArtifactFormat
from outbox.settings import Settings
from outbox.tables import UPLOADED
from tests.support.ports import free_port
from tests.unit.relay.staged import commit_analysis, read_all

pytestmark = [pytest.mark.mariadb, pytest.mark.s3]

CSV = b"a,b\n1,2\n"


def relay_env(s3_env: dict[str, str], mysql_url: str, **extra: str) -> dict[str, str]:
    """A clean environment: PATH, SeaweedFS credentials, the test database, JSON logs."""
    return {
        "PATH": os.environ.get("PATH", ""),
        **s3_env,
        "DATABASE_URL": mysql_url,
        "LOG_FORMAT": "json",
        **extra,
    }


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def statuses(engine: sa.Engine) -> set[str]:
    return {d["status"] for d in read_all(engine)["downloads"]}


def test_relay_once_uploads_everything_due_and_exits_zero(
    mysql_engine: sa.Engine, s3_settings: Settings, s3_env: dict[str, str], mysql_url: str
) -> None:
    commit_analysis(
        mysql_engine, s3_settings, "once-1", {ArtifactFormat.CSV: CSV, ArtifactFormat.JSON: b"{}"}
    )
    done = subprocess.run(
        [sys.executable, "-m", "clean_my_data.main", "relay", "--once"],
        env=relay_env(s3_env, mysql_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert statuses(mysql_engine) == {UPLOADED}
    assert '"event": "relay_batch_processed"' in done.stderr
    assert s3_env["AWS_SECRET_ACCESS_KEY"] not in done.stderr  # no secret logged


def test_daemon_picks_up_new_commits_serves_metrics_and_stops_on_sigterm(
    mysql_engine: sa.Engine, s3_settings: Settings, s3_env: dict[str, str], mysql_url: str
) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "clean_my_data.main", "relay"],
        env=relay_env(s3_env, mysql_url, METRICS_PORT=str(port), RELAY_ID="daemon-1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        commit_analysis(mysql_engine, s3_settings, "daemon-1", {ArtifactFormat.CSV: CSV})
        assert wait_for(lambda: statuses(mysql_engine) == {UPLOADED})
        commit_analysis(mysql_engine, s3_settings, "daemon-2", {ArtifactFormat.JSON: b"[]"})
        assert wait_for(lambda: statuses(mysql_engine) == {UPLOADED})
        assert len(read_all(mysql_engine)["downloads"]) == 2

        def scrape() -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                return str(r.read().decode())

        assert wait_for(lambda: "relay_uploads_total 2.0" in scrape())
        metrics = scrape()
        assert "relay_pending_records 0.0" in metrics
        assert "relay_upload_duration_seconds_count 2.0" in metrics
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert '"event": "relay_stopped"' in stderr
    history = read_all(mysql_engine)["history"]
    assert {h["actor"] for h in history} == {"daemon-1"}
