"""The docker-compose topology without Docker: the same users, grants, scripts and commands.

* The migration user (the grants docs/guide/production.md documents) runs ``db upgrade``; the
  runtime user (the grants of deploy/mysql/initdb/10-runtime-user.sh, parsed from that file)
  cannot, and cannot drop a table.
* The transformer's watch folder (deploy/watch-inbox.sh) runs the real ``clean-my-data analyze``
  as the runtime user; the relay (``relay --once``) uploads to a real SeaweedFS as the same user.
* deploy/create_bucket.py creates the bucket once and reports it existing the second time.
* The image's health check (deploy/healthcheck.py) follows a real relay daemon, which exits 0
  on SIGTERM (`docker stop`).
* The api service (``serve`` on 0.0.0.0 with its admin token from API_ADMIN_TOKEN, health
  check ``--url .../readyz``) and the worker service, as the runtime user.
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
import urllib.error
import urllib.request
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


def http(
    method: str, url: str, token: str | None = None, body: bytes | None = None
) -> tuple[int, dict[str, object]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def start_api(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    """The compose `api` service's command; returns once its health check passes."""
    cli = str(BIN_DIR / "clean-my-data")
    api = subprocess.Popen(
        [cli, "serve", "--host", "0.0.0.0", "--port", str(port), "--no-worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    check = [
        sys.executable,
        str(DEPLOY / "healthcheck.py"),
        "--url",
        f"http://127.0.0.1:{port}/readyz",
    ]
    deadline = time.monotonic() + 90
    while run(check, env).returncode != 0:
        if api.poll() is not None or time.monotonic() > deadline:
            api.kill()
            pytest.fail(f"api did not become ready: {api.communicate()[1]}")
        time.sleep(0.25)
    return api


def stop_api(api: subprocess.Popen[str]) -> str:
    api.send_signal(signal.SIGTERM)  # what `docker stop` sends
    _, stderr = api.communicate(timeout=60)
    # uvicorn finishes the requests in flight; the worker and relay threads stop; exit 0
    assert api.returncode == 0, stderr
    return stderr


@pytest.mark.mariadb
@pytest.mark.s3
def test_api_and_worker_services_run_as_the_runtime_user_with_the_bootstrap_token(
    db_users: DbUsers, s3_server: S3Server, tmp_path: Path
) -> None:
    """The compose `api` (serve on 0.0.0.0, its admin token from API_ADMIN_TOKEN, health check
    on /readyz) and `worker` services, run as the runtime DB user: a restart keeps the one
    token; a job submitted over HTTP is analysed by the worker and uploaded by the relay."""
    bucket = f"cmd-deploy-{secrets.token_hex(4)}"
    staging = tmp_path / "staging"
    staging.mkdir()
    secret = "cmd_" + secrets.token_urlsafe(32)
    runtime = app_env(db_users.runtime_url, staging, s3_server, bucket)
    runtime["WORKER_SCRATCH_DIR"] = str(tmp_path / "scratch")
    runtime["JOB_INPUT_RETENTION_HOURS"] = "0"
    api_env = {**runtime, "API_ADMIN_TOKEN": secret}
    cli = str(BIN_DIR / "clean-my-data")
    created = run([sys.executable, str(DEPLOY / "create_bucket.py"), "--timeout", "30"], runtime)
    assert created.returncode == 0, created.stderr
    upgraded = run(
        [cli, "db", "upgrade"], app_env(db_users.migrate_url, staging, s3_server, bucket)
    )
    assert upgraded.returncode == 0, upgraded.stderr

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = stop_api(start_api(api_env, port))  # first start: the token is created
    api = start_api(api_env, port)  # a restart: the token is found
    try:
        assert http("GET", f"{base}/api/v1/downloads")[0] == 401
        assert http("GET", f"{base}/api/v1/downloads", "cmd_" + "x" * 43)[0] == 401
        status, answer = http(
            "POST",
            f"{base}/api/v1/analyses?file_name=sales.csv&analysis_id=compose-api-1",
            secret,
            EXAMPLE.read_bytes(),
        )
        assert status == 202, answer
    finally:
        logs += stop_api(api)
    events = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    ensured = [e["outcome"] for e in events if e.get("event") == "admin_token_ensured"]
    assert ensured == ["created", "present"]
    assert secret not in logs
    engine = sa.create_engine(db_users.runtime_url)
    try:
        with engine.connect() as conn:
            tokens = conn.execute(sa.text("SELECT name, role FROM api_tokens")).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in tokens] == [("admin", "admin")]

    worked = run([cli, "worker", "--once"], runtime)
    assert worked.returncode == 0, worked.stderr
    relayed = run([cli, "relay", "--once"], runtime)
    assert relayed.returncode == 0, relayed.stderr
    report = run([cli, "report", "compose-api-1"], runtime)
    assert report.returncode == 0, report.stderr
    downloads = json.loads(report.stdout)["report"]["downloads"]
    assert {d["status"] for d in downloads} == {"uploaded"}
    inputs = s3_server.client().list_objects_v2(Bucket=bucket, Prefix="artifacts/inputs/")
    assert inputs.get("KeyCount", 0) == 0  # swept by the worker (retention 0 h)
