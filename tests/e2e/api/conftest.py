"""A real ``clean-my-data serve`` process on a free port, on the embedded default (SQLite +
local directory, worker and relay in the process) and on MariaDB + SeaweedFS (``--worker``)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.support.ports import free_port

CLI = [sys.executable, "-m", "clean_my_data.main"]
MAX_UPLOAD_BYTES = 300_000


@dataclass
class Service:
    base_url: str
    env: dict[str, str]
    log_path: Path
    tokens: dict[str, str] = field(default_factory=dict)
    kind: str = "embedded"
    process: subprocess.Popen[bytes] | None = None

    def client(self, who: str | None = None) -> httpx.Client:
        headers = {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=90)

    def engine(self) -> sa.Engine:
        from outbox.db import create_database_engine
        from outbox.settings import Settings

        return create_database_engine(Settings.from_env(self.env))

    def cli(self, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 120):
        return subprocess.run(
            [*CLI, *args],
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def base_env(tmp_path: Path) -> dict[str, str]:
    staging = tmp_path / "staging"
    staging.mkdir()
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {
        **keep,
        "STAGING_DIR": str(staging),
        "WORKER_SCRATCH_DIR": str(tmp_path / "scratch"),
        "MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
        "WORKER_POLL_INTERVAL_SECONDS": "0.2",
        "RELAY_POLL_INTERVAL_SECONDS": "0.2",
        "API_BODY_TIMEOUT_SECONDS": "2",
        "LOG_FORMAT": "json",
        "PYTHONPATH": str(Path(__file__).resolve().parents[3]),
    }


def start_service(service: Service, *extra_args: str, timeout: float = 90.0) -> Service:
    port = int(service.base_url.rsplit(":", 1)[1])
    log = service.log_path.open("ab")
    service.process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), *extra_args],
        env=service.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            pytest.fail(f"serve exited with {service.process.returncode}:\n{service.log_text()}")
        try:
            if httpx.get(service.base_url + "/healthz", timeout=1).status_code == 200:
                return service
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"serve did not answer within {timeout}s:\n{service.log_text()}")


def stop_service(service: Service) -> None:
    if service.process is None or service.process.poll() is not None:
        return
    service.process.send_signal(signal.SIGTERM)
    try:
        service.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        service.process.kill()
        service.process.wait()


def create_tokens(service: Service) -> None:
    for name, role in (
        ("ann", "analyst"),
        ("bob", "analyst"),
        ("aud", "auditor"),
        ("root", "admin"),
    ):
        done = service.cli("token", "create", "--role", role, "--name", name)
        assert done.returncode == 0, done.stderr
        service.tokens[name] = done.stdout.strip()


@pytest.fixture(
    params=["embedded", pytest.param("mariadb_s3", marks=[pytest.mark.mariadb, pytest.mark.s3])]
)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    env = base_env(tmp_path)
    extra: tuple[str, ...] = ()
    if request.param == "embedded":
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
        env["ARTIFACT_STORE_URL"] = f"file://{tmp_path / 'store'}"
    else:
        mysql_url = request.getfixturevalue("mysql_url")
        s3_server = request.getfixturevalue("s3_server")
        bucket = request.getfixturevalue("s3_bucket")
        env |= s3_server.env()
        env["DATABASE_URL"] = mysql_url
        env["ARTIFACT_STORE_URL"] = f"s3://{bucket}"
        extra = ("--worker",)
    svc = Service(
        f"http://127.0.0.1:{free_port()}", env, tmp_path / "serve.log", kind=request.param
    )
    if request.param != "embedded":
        upgraded = svc.cli("db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
    create_tokens(svc)
    start_service(svc, *extra)
    try:
        yield svc
    finally:
        stop_service(svc)
        shutil.rmtree(tmp_path / "scratch", ignore_errors=True)
