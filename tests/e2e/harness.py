"""Run the real ``clean-my-data`` in subprocesses against a private MariaDB database, the real
SeaweedFS S3 gateway and a private staging directory, and inspect what they left behind.

Every process gets a clean environment (nothing inherited but ``PATH``/``HOME``/``LANG``), short
leases, short backoff and a short orphan grace period so crash/recovery tests are quick. The
inspection helpers read the database with plain SQL and the bucket with boto3 directly, not
through the code under test.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from outbox.staging import VOLUME_MARKER
from tests.support.seaweed import S3Server

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "sales_dirty.csv"
CLI = Path(sys.executable).with_name("clean-my-data")
CRASH_EXIT = 86
PREFIX = "e2e"
LEASE_SECONDS = 2

# Short timings so crash recovery and retries happen within seconds.
QUICK_RELAY = {
    "RELAY_LEASE_SECONDS": str(LEASE_SECONDS),
    "RELAY_BACKOFF_BASE_SECONDS": "0.2",
    "RELAY_BACKOFF_MAX_SECONDS": "0.5",
    "RELAY_MAX_ATTEMPTS": "5",
    "RELAY_POLL_INTERVAL_SECONDS": "0.2",
    "RELAY_ORPHAN_GRACE_SECONDS": "1",
    "RELAY_BATCH_SIZE": "8",
    "RELAY_CONCURRENCY": "4",
    "RELAY_MULTIPART_THRESHOLD_BYTES": str(5 * 1024 * 1024),
    "RELAY_MULTIPART_CHUNK_BYTES": str(5 * 1024 * 1024),
    "S3_CONNECT_TIMEOUT_SECONDS": "1",
    "S3_READ_TIMEOUT_SECONDS": "10",
}


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def non_log_lines(stderr: str) -> list[str]:
    """stderr lines that are not JSON log events (what a user reads as the error)."""
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith("{")]


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def write_multipart_csv(path: Path, rows: int = 170_000) -> None:
    """A clean CSV whose cleaned download exceeds the 5 MiB multipart threshold."""
    with path.open("w", encoding="utf-8") as out:
        out.write("id,name,city,amount\n")
        for i in range(rows):
            out.write(f"{i},name{(i * 7919) % 1_000_003},city{i % 500},{(i * 37) % 100_000}.25\n")


class TcpProxy:
    """A loopback TCP proxy in front of the S3 server that can make it slow: every chunk the
    server sends back is held ``response_delay`` seconds (so each request takes at least that
    long). Used as ``S3_ENDPOINT_URL`` (SigV4 signs the Host header, which then names the proxy,
    and the server accepts it: the signature is over what the client sent)."""

    def __init__(self, upstream_url: str) -> None:
        host, _, port = upstream_url.removeprefix("http://").partition(":")
        self._upstream = (host, int(port))
        self.response_delay = 0.0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            try:
                server = socket.create_connection(self._upstream, timeout=10)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, server))
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, delayed: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if delayed and self.response_delay:
                    time.sleep(self.response_delay)
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()


@dataclass
class Harness:
    root: Path
    database_url: str
    s3: S3Server
    bucket: str
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    @property
    def store_url(self) -> str:
        return f"s3://{self.bucket}/{PREFIX}"

    # --- processes -------------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        base = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
        return {
            **base,
            **self.s3.env(),
            "DATABASE_URL": self.database_url,
            "ARTIFACT_STORE_URL": self.store_url,
            "STAGING_DIR": str(self.staging),
            "APP_ENV": "test",
            "LOG_FORMAT": "json",
            **QUICK_RELAY,
            **self.extra_env,
            **extra,
        }

    def cli(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        timeout: float = 180,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CLI), *args],
            cwd=self.root,
            env=self.env(**(env or {})),
            capture_output=True,
            text=True,
            input=stdin,
            timeout=timeout,
            check=False,
        )

    def spawn(
        self, *args: str, log_name: str, env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """A long-running CLI process; stdout+stderr go to ``root/logs/<log_name>``."""
        logs = self.root / "logs"
        logs.mkdir(exist_ok=True)
        with (logs / log_name).open("ab") as sink:
            return subprocess.Popen(
                [str(CLI), *args],
                cwd=self.root,
                env=self.env(**(env or {})),
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def analyze(self, path: Path, analysis_id: str, **env: str) -> subprocess.CompletedProcess[str]:
        return self.cli("analyze", str(path), "--analysis-id", analysis_id, env=env)

    def relay_once(self, **env: str) -> subprocess.CompletedProcess[str]:
        return self.cli("relay", "--once", env=env)

    def verify(self) -> subprocess.CompletedProcess[str]:
        return self.cli("verify", "--deep")

    # --- the database ------------------------------------------------------------------------

    def engine(self) -> sa.Engine:
        return sa.create_engine(self.database_url, pool_pre_ping=True)

    def query(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        engine = self.engine()
        try:
            with engine.connect() as conn:
                return [dict(row) for row in conn.execute(sa.text(sql), params).mappings()]
        finally:
            engine.dispose()

    def downloads(self) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM downloads ORDER BY analysis_id, download_id")

    def outbox(self) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM outbox ORDER BY id")

    def history(self) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM outbox_attempts ORDER BY id")

    def report_rows(self) -> list[dict[str, Any]]:
        return self.query("SELECT analysis_id, report FROM analysis_reports ORDER BY analysis_id")

    # --- the bucket and the staging directory -------------------------------------------------

    def s3_client(self) -> Any:
        return self.s3.client()

    def object_keys(self) -> set[str]:
        client = self.s3_client()
        keys: set[str] = set()
        for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=PREFIX + "/"
        ):
            keys.update(item["Key"] for item in page.get("Contents", []))
        return keys

    def object_bytes(self, key: str) -> bytes:
        body: bytes = self.s3_client().get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body

    def staged_files(self) -> list[str]:
        if not self.staging.is_dir():
            return []
        return sorted(p.name for p in self.staging.iterdir() if p.name != VOLUME_MARKER)

    # --- the end state every recovery must reach ----------------------------------------------

    def assert_recovered(self, analysis_ids: set[str], *, downloads_each: int = 4) -> None:
        """Every download uploaded with the right bytes, nothing left staged, every attempt in
        the history, and ``verify --deep`` agreeing (exit 0)."""
        rows = self.downloads()
        assert {row["analysis_id"] for row in rows} == analysis_ids
        assert len(rows) == downloads_each * len(analysis_ids)
        assert {row["status"] for row in rows} == {"uploaded"}, [
            (row["file_name"], row["status"], row["last_error"]) for row in rows
        ]
        prefix = f"s3://{self.bucket}/"
        keys = set()
        for row in rows:
            assert row["s3_path"].startswith(prefix + PREFIX + "/")
            key = row["s3_path"][len(prefix) :]
            keys.add(key)
            data = self.object_bytes(key)
            assert len(data) == row["size_bytes"]
            assert sha256_of(data) == row["sha256"], f"{key} differs from its staged sha256"
        assert self.object_keys() == keys, "objects with no uploaded download row"
        assert self.staged_files() == [], "staged files left after the relay and its sweep"
        self.assert_reports_agree(rows)
        self.assert_history_complete()
        verified = self.verify()
        assert verified.returncode == 0, verified.stdout + verified.stderr

    def staged_digests(self) -> dict[str, tuple[int, str]]:
        """object key -> (size, sha256) as staged, from every outbox record ever committed."""
        digests: dict[str, tuple[int, str]] = {}
        for record in self.outbox():
            raw = record["payload"]
            payload = json.loads(raw) if isinstance(raw, str | bytes) else raw
            digests[payload["object_key"]] = (int(payload["size_bytes"]), payload["sha256"])
        return digests

    def assert_objects_match_staged(self) -> int:
        """Every object in the store holds exactly the bytes some outbox record staged for its
        key; returns how many objects were checked."""
        digests = self.staged_digests()
        keys = self.object_keys()
        for key in keys:
            assert key in digests, f"object {key} was never staged"
            data = self.object_bytes(key)
            assert (len(data), sha256_of(data)) == digests[key], f"{key} differs from staged"
        return len(keys)

    def assert_reports_agree(self, rows: list[dict[str, Any]]) -> None:
        by_id = {row["download_id"]: row for row in rows}
        for report in self.report_rows():
            document = report["report"]
            final = json.loads(document) if isinstance(document, str | bytes) else document
            for entry in final["report"]["downloads"]:
                row = by_id[entry["download_id"]]
                assert (entry["status"], entry["sha256"], entry["s3_path"]) == (
                    row["status"],
                    row["sha256"],
                    row["s3_path"],
                )

    def assert_history_complete(self) -> None:
        """Each counted attempt of each outbox record has its upload row in the history, and
        each finished record has the row of its final outcome."""
        history = self.history()
        for record in self.outbox():
            rows = [h for h in history if h["outbox_id"] == record["id"]]
            uploads = [h for h in rows if h["event"] == "upload"]
            assert len(uploads) >= record["attempts"], (
                f"outbox {record['id']}: {record['attempts']} attempts, "
                f"history {[(h['attempt'], h['outcome']) for h in rows]}"
            )
            final = {
                "done": {"uploaded", "already_present"},
                "dead": {"failed"},
                "superseded": {"superseded"},
                "pending": set(),
            }[record["state"]]
            if final:
                assert final & {h["outcome"] for h in rows}, (record, rows)


def build_harness(
    root: Path, mysql_url: str, s3_server: S3Server, s3_bucket: str, **extra_env: str
) -> Harness:
    """A harness with the schema created (``db upgrade``) and an empty staging directory."""
    harness = Harness(root, mysql_url, s3_server, s3_bucket, dict(extra_env))
    harness.staging.mkdir(parents=True, exist_ok=True)
    upgraded = harness.cli("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    return harness


def json_events(text: str) -> Iterator[Mapping[str, Any]]:
    """The JSON log events in a captured stderr."""
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue
