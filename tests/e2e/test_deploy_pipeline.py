"""The docker-compose topology without Docker: the same users, grants, scripts and commands.

* The migration user (the grants docs/guide/production.md documents) runs ``db upgrade``; the
  runtime user (the grants of deploy/mysql/initdb/10-runtime-user.sh, parsed from that file)
  cannot, and cannot drop a table.
* The transformer's watch folder (deploy/watch-inbox.sh) runs the real ``clean-my-data analyze``
  as the runtime user; the relay (``relay --once``) uploads to a real SeaweedFS as the same user.
* deploy/create_bucket.py creates the bucket once and reports it existing the second time.
* The image's health check (deploy/healthcheck.py) follows a real relay daemon, which exits 0
  on SIGTERM (`docker stop`).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from tests.support.ports import free_port
from tests.support.seaweed import S3Server
from tests.support.watcher import run_watch_inbox

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
INIT_SCRIPT = DEPLOY / "mysql" / "initdb" / "10-runtime-user.sh"
EXAMPLE = ROOT / "examples" / "sales_dirty.csv"
BIN_DIR = Path(sys.executable).parent

# The migration user's grants, as docs/guide/production.md states them.
MIGRATION_PRIVILEGES = (
    "SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES, CREATE VIEW, SHOW VIEW"
)


def runtime_privileges() -> str:
    """The GRANT list of the MySQL init script, so the test and the deployment cannot drift."""
    match = re.search(r"^GRANT (.+?) ON ", INIT_SCRIPT.read_text(), re.MULTILINE)
    assert match, "no GRANT in the init script"
    return match.group(1)


@dataclass(frozen=True)
class DbUsers:
    migrate_url: str
    runtime_url: str
    runtime_user: str


def create_user(admin: sa.Engine, database: str, privileges: str) -> tuple[str, str]:
    user = f"cmd_{secrets.token_hex(4)}"
    password = secrets.token_hex(12)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"))
        conn.execute(sa.text(f"GRANT {privileges} ON `{database}`.* TO '{user}'@'%'"))
    return user, password


@pytest.fixture
def db_users(mysql_url: str) -> Iterator[DbUsers]:
    root = make_url(mysql_url)
    assert root.database
    admin = sa.create_engine(root)
    created: list[str] = []
    try:
        migrate_user, migrate_pw = create_user(admin, root.database, MIGRATION_PRIVILEGES)
        created.append(migrate_user)
        runtime_user, runtime_pw = create_user(admin, root.database, runtime_privileges())
        created.append(runtime_user)

        def url_for(user: str, password: str) -> str:
            url: URL = root.set(username=user, password=password)
            return url.render_as_string(hide_password=False)

        yield DbUsers(
            url_for(migrate_user, migrate_pw), url_for(runtime_user, runtime_pw), runtime_user
        )
    finally:
        with admin.begin() as conn:
            for user in created:
                conn.execute(sa.text(f"DROP USER IF EXISTS '{user}'@'%'"))
        admin.dispose()


def app_env(database_url: str, staging: Path, s3: S3Server, bucket: str) -> dict[str, str]:
    return {
        "PATH": f"{BIN_DIR}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": os.environ.get("HOME", "/tmp"),
        "DATABASE_URL": database_url,
        "ARTIFACT_STORE_URL": f"s3://{bucket}/artifacts",
        "STAGING_DIR": str(staging),
        "STAGING_VOLUME_ID": "compose-staging-1",
        "APP_ENV": "prod",
        "LOG_FORMAT": "json",
        "RELAY_BACKOFF_BASE_SECONDS": "0.1",
        "RELAY_BACKOFF_MAX_SECONDS": "0.5",
        **s3.env(),
    }


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, env=env, capture_output=True, text=True, check=False, timeout=240, cwd=ROOT
    )


def run_watcher(root: Path, env: dict[str, str], timeout: float = 180.0) -> str:
    """Run the watch folder until its inbox holds no CSV; return its stderr."""
    inbox = root / "inbox"

    def drained() -> bool:
        return not [p for p in inbox.iterdir() if p.suffix == ".csv"]

    result = run_watch_inbox(root, env, drained, interval="0.2", timeout=timeout)
    assert result.returncode == 0, result.stderr
    return result.stderr


@pytest.mark.mariadb
@pytest.mark.s3
def test_compose_topology_runs_with_least_privilege_users(
    db_users: DbUsers, s3_server: S3Server, tmp_path: Path
) -> None:
    bucket = f"cmd-deploy-{secrets.token_hex(4)}"
    staging = tmp_path / "staging"
    staging.mkdir()
    runtime = app_env(db_users.runtime_url, staging, s3_server, bucket)
    migrator = app_env(db_users.migrate_url, staging, s3_server, bucket)
    cli = str(BIN_DIR / "clean-my-data")

    # bucket-init: created, then found (idempotent on every `up`).
    create_bucket = [sys.executable, str(DEPLOY / "create_bucket.py"), "--timeout", "30"]
    first = run(create_bucket, runtime)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"bucket {bucket} created"
    again = run(create_bucket, runtime)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"bucket {bucket} existed"

    # migrate: the runtime user may not change the schema; the migration user may, twice.
    denied = run([cli, "db", "upgrade"], runtime)
    assert denied.returncode != 0
    assert "denied" in denied.stderr.lower()
    for _ in range(2):
        upgraded = run([cli, "db", "upgrade"], migrator)
        assert upgraded.returncode == 0, upgraded.stderr

    # transformer: the watch folder, real analyze, runtime user.
    inbox = tmp_path / "data" / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "Sales Dirty.csv").write_bytes(EXAMPLE.read_bytes())
    (inbox / "garbage.csv").write_bytes(b"\x00\x01\x02binary\xff\xfe" * 64)
    run_watcher(tmp_path / "data", runtime)

    archive = tmp_path / "data" / "archive"
    assert sorted(p.name for p in (archive / "done").iterdir()) == ["Sales Dirty.csv"]
    assert sorted(p.name for p in (archive / "failed").iterdir()) == [
        "garbage.csv",
        "garbage.csv.error",
    ]
    assert len((archive / "failed" / "garbage.csv.error").read_text().splitlines()) == 1
    (result_file,) = (tmp_path / "data" / "results").iterdir()
    final = json.loads(result_file.read_text())
    analysis_id = final["analysis_id"]
    assert result_file.name == f"{analysis_id}.json"
    downloads = final["report"]["downloads"]
    assert sorted(d["format"] for d in downloads) == ["csv", "json", "parquet", "xlsx"]
    assert {d["status"] for d in downloads} == {"pending"}
    assert all(d["s3_path"].startswith(f"s3://{bucket}/artifacts/prod/") for d in downloads)

    # relay: uploads everything due as the runtime user, then the report says uploaded.
    relayed = run([cli, "relay", "--once"], runtime)
    assert relayed.returncode == 0, relayed.stderr
    report = run([cli, "report", analysis_id], runtime)
    assert report.returncode == 0, report.stderr
    statuses = {d["status"] for d in json.loads(report.stdout)["report"]["downloads"]}
    assert statuses == {"uploaded"}

    # The runtime user cannot drop or alter what it writes to.
    engine = sa.create_engine(db_users.runtime_url)
    try:
        with pytest.raises(sa.exc.OperationalError, match=r"(?i)denied"), engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE outbox_attempts"))
        with pytest.raises(sa.exc.OperationalError, match=r"(?i)denied"), engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE outbox ADD COLUMN x INT"))
    finally:
        engine.dispose()


def test_relay_container_health_check_and_graceful_stop(tmp_path: Path) -> None:
    """The image's HEALTHCHECK against a real relay daemon; SIGTERM (docker stop) exits 0."""
    staging = tmp_path / "staging"
    staging.mkdir()
    env = {
        "PATH": f"{BIN_DIR}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": os.environ.get("HOME", "/tmp"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "ARTIFACT_STORE_URL": f"file://{tmp_path / 'artifacts'}",
        "STAGING_DIR": str(staging),
        "METRICS_PORT": str(free_port()),
        "LOG_FORMAT": "json",
    }
    cli = str(BIN_DIR / "clean-my-data")
    healthcheck = [sys.executable, str(DEPLOY / "healthcheck.py")]
    assert run([cli, "db", "upgrade"], env).returncode == 0

    before = run(healthcheck, env)
    assert before.returncode == 1  # nothing serves /metrics yet
    assert "/metrics unreachable" in before.stderr

    relay = subprocess.Popen(
        [cli, "relay"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        healthy = run(healthcheck, env)
        while healthy.returncode != 0 and time.monotonic() < deadline:
            assert relay.poll() is None, relay.communicate()[1]
            time.sleep(0.25)
            healthy = run(healthcheck, env)
        assert healthy.returncode == 0, healthy.stderr
        # the probe file is gone; the relay's volume marker stays
        assert [p.name for p in staging.iterdir()] == [".staging-volume"]

        relay.send_signal(signal.SIGTERM)  # what `docker stop` sends
        _, stderr = relay.communicate(timeout=60)
        assert relay.returncode == 0, stderr
    finally:
        if relay.poll() is None:
            relay.kill()
            relay.wait()
    after = run(healthcheck, env)
    assert after.returncode == 1
