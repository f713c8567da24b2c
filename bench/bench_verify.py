"""``verify`` on a large, consistent deployment: run time of the default and ``--deep`` modes.

    .venv/bin/python -m bench.bench_verify                     # 100,000; SQLite + local store
    .venv/bin/python -m bench.bench_verify --database mariadb  # TEST_MYSQL_URL's server
    .venv/bin/python -m bench.bench_verify --store seaweedfs   # a SeaweedFS S3 gateway

Seeds N downloads in analyses of three (report JSON entries, ``downloads`` rows, finished outbox
records, one successful attempt each in the history with its ETag) plus 1% pending downloads with
staged files and live outbox records. Objects are small (about 100 bytes): verify's cost is per
object and per row, not per byte. Seeding writes rows with bulk inserts and objects directly (the
local store's file + sha256 sidecar layout; on S3 a plain PUT with the sha256 metadata, 32 in
parallel), so only ``verify`` is timed. Everything is created in temporary places and removed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import logging
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog

from domain.artifacts import derive_download_id
from domain.model import TOOL_NAME
from outbox import tables as t
from outbox.clock import utcnow
from outbox.db import create_database_engine
from outbox.keys import build_object_key
from outbox.migrations import upgrade
from outbox.settings import Settings
from relay.stores import open_store
from relay.stores.local import SIDECAR_SUFFIX
from relay.verify import VerifyOptions, verify

FORMATS = (("csv", "cleaned.csv"), ("xlsx", "report.xlsx"), ("json", "report.json"))
CHUNK = 5000


def _content(download_id: str) -> bytes:
    return f"id,value\n{download_id},{download_id[::-1]}\n".encode() * 2


def _rows(n: int, settings: Settings, now: datetime) -> Iterator[dict[str, Any]]:
    """One dict per download: row values plus the bytes and whether it is still pending."""
    for index in range(n):
        analysis_id = f"bench-{index // 3:06d}"
        fmt, file_name = FORMATS[index % 3]
        download_id = derive_download_id(analysis_id, fmt)
        body = _content(download_id)
        sha = hashlib.sha256(body).hexdigest()
        key = build_object_key(
            settings.store.prefix,
            settings.app_env,
            TOOL_NAME,
            analysis_id,
            now,
            file_name,
            discriminator=sha[:12],
        )
        pending = index % 100 == 99
        yield {
            "download_id": download_id,
            "analysis_id": analysis_id,
            "file_name": file_name,
            "format": fmt,
            "size_bytes": len(body),
            "sha256": sha,
            "object_key": key,
            "staged_path": f"{download_id}.bench.{fmt}",
            "status": t.PENDING if pending else t.UPLOADED,
            "body": body,
        }


def _location(settings: Settings, key: str) -> str:
    store = settings.store
    return f"s3://{store.bucket}/{key}" if store.is_s3 else f"file://{store.bucket}/{key}"


def seed(engine: sa.Engine, settings: Settings, n: int, put: Any) -> None:
    now = utcnow()
    reports: dict[str, list[dict[str, Any]]] = {}
    downloads: list[dict[str, Any]] = []
    objects: list[tuple[str, bytes, str]] = []
    for row in _rows(n, settings, now):
        s3_path = _location(settings, row["object_key"])
        reports.setdefault(row["analysis_id"], []).append(
            {
                name: row[name]
                for name in ("download_id", "file_name", "format", "size_bytes", "sha256", "status")
            }
            | {"s3_path": s3_path}
        )
        body = row.pop("body")
        downloads.append(
            row
            | {
                "s3_path": s3_path,
                "staging_volume": settings.staging_volume_id,
                "created_at": now,
                "updated_at": now,
            }
        )
        if row["status"] == t.PENDING:
            (settings.staging_dir / row["staged_path"]).write_bytes(body)
        else:
            objects.append((row["object_key"], body, row["sha256"]))
    with ThreadPoolExecutor(max_workers=32) as pool:
        etags = dict(
            zip((o[0] for o in objects), pool.map(lambda o: put(*o), objects), strict=True)
        )
    report_rows = [
        {
            "analysis_id": analysis_id,
            "tool": TOOL_NAME,
            "status": "success",
            "timestamp": now,
            "execution_time_ms": 1,
            "report": {"analysis_id": analysis_id, "report": {"downloads": entries}},
            "created_at": now,
            "updated_at": now,
        }
        for analysis_id, entries in reports.items()
    ]
    with engine.begin() as conn:
        for start in range(0, len(report_rows), CHUNK):
            conn.execute(sa.insert(t.analysis_reports), report_rows[start : start + CHUNK])
        for start in range(0, len(downloads), CHUNK):
            chunk = downloads[start : start + CHUNK]
            conn.execute(sa.insert(t.downloads), chunk)
            conn.execute(sa.insert(t.outbox), [_outbox(row, now) for row in chunk])
        ids = dict(conn.execute(sa.select(t.outbox.c.download_id, t.outbox.c.id)).all())
        attempts = [
            _attempt(row, ids[row["download_id"]], etags[row["object_key"]], now)
            for row in downloads
            if row["status"] == t.UPLOADED
        ]
        for start in range(0, len(attempts), CHUNK):
            conn.execute(sa.insert(t.outbox_attempts), attempts[start : start + CHUNK])


def _outbox(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    pending = row["status"] == t.PENDING
    return {
        "event_id": str(uuid.uuid4()),
        "aggregatetype": t.AGGREGATE_TYPE,
        "aggregateid": row["download_id"],
        "type": t.EVENT_TYPE_STAGED,
        "payload": {"download_id": row["download_id"], "object_key": row["object_key"]},
        "download_id": row["download_id"],
        "analysis_id": row["analysis_id"],
        "staging_volume": row["staging_volume"],
        "state": t.OUTBOX_PENDING if pending else t.OUTBOX_DONE,
        "attempts": 0 if pending else 1,
        "available_at": now,
        "created_at": now,
        "updated_at": now,
        "finished_at": None if pending else now,
    }


def _attempt(
    row: dict[str, Any], outbox_id: int, etag: str | None, now: datetime
) -> dict[str, Any]:
    return {
        "outbox_id": outbox_id,
        "download_id": row["download_id"],
        "analysis_id": row["analysis_id"],
        "event": t.EVENT_UPLOAD,
        "attempt": 1,
        "actor": "bench:1",
        "started_at": now,
        "duration_ms": 5,
        "bytes": row["size_bytes"],
        "outcome": t.OUTCOME_UPLOADED,
        "object_key": row["object_key"],
        "etag": etag,
        "recorded_at": now,
    }


def local_put(root: Path) -> Any:
    def put(key: str, body: bytes, sha: str) -> str:
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        path.with_name(path.name + SIDECAR_SUFFIX).write_text(sha + "\n", encoding="ascii")
        return sha[:32]  # the local store's ETag

    return put


def s3_put(settings: Settings) -> Any:
    from relay.stores.s3 import SHA256_METADATA_KEY, build_client

    client = build_client(settings)
    bucket = settings.store.bucket

    def put(key: str, body: bytes, sha: str) -> str:
        response = client.put_object(
            Bucket=bucket, Key=key, Body=body, Metadata={SHA256_METADATA_KEY: sha}
        )
        return str(response["ETag"])

    return put


@contextlib.contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.sqlite3'}"
        return
    from tests.support import mariadb

    url = mariadb.create_database(mariadb.server_url(), prefix="cmd_bench")
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        mariadb.drop_database(url)


@contextlib.contextmanager
def object_store(kind: str, workdir: Path) -> Iterator[tuple[dict[str, str], Any]]:
    """(settings overrides, put function factory input)."""
    if kind == "local":
        root = workdir / "artifacts"
        root.mkdir()
        yield {"ARTIFACT_STORE_URL": f"file://{root}"}, root
        return

    from tests.support.seaweed import running_seaweed

    with running_seaweed() as server:
        client = server.client()
        client.create_bucket(Bucket="bench")
        import os

        os.environ["AWS_ACCESS_KEY_ID"] = server.access_key  # boto3's chain, for this process
        os.environ["AWS_SECRET_ACCESS_KEY"] = server.secret_key
        yield {**server.env(), "ARTIFACT_STORE_URL": "s3://bench/bench"}, None


def timed_verify(engine: sa.Engine, settings: Settings, deep: bool) -> None:
    store = open_store(settings)
    options = VerifyOptions(deep=deep, head_concurrency=16)
    started = time.perf_counter()
    result = verify(engine, store, settings, options)
    elapsed = time.perf_counter() - started
    stats = result.stats
    mode = "verify --deep" if deep else "verify       "
    print(
        f"  {mode}: {elapsed:7.1f} s  problems={len(result.problems)} "
        f"downloads={stats.downloads} reports={stats.reports} listed={stats.objects_listed} "
        f"heads={stats.heads} staged_hashed={stats.staged_files_hashed}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--downloads", type=int, default=100_000)
    parser.add_argument("--database", choices=("sqlite", "mariadb"), default="sqlite")
    parser.add_argument("--store", choices=("local", "seaweedfs"), default="local")
    parser.add_argument("--skip-deep", action="store_true", help="only the default mode")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    with tempfile.TemporaryDirectory(prefix="cmd-bench-verify-") as tmp:
        workdir = Path(tmp)
        staging = workdir / "staging"
        staging.mkdir()
        with (
            database(args.database, workdir) as url,
            object_store(args.store, workdir) as (
                overrides,
                root,
            ),
        ):
            settings = Settings.from_env(
                {"DATABASE_URL": url, "STAGING_DIR": str(staging), "APP_ENV": "bench", **overrides}
            )
            engine = create_database_engine(settings)
            upgrade(engine)
            put = local_put(root) if args.store == "local" else s3_put(settings)
            started = time.perf_counter()
            seed(engine, settings, args.downloads, put)
            print(
                f"verify on {args.downloads:,} downloads ({args.database}, {args.store} store); "
                f"seeded in {time.perf_counter() - started:.1f} s"
            )
            timed_verify(engine, settings, deep=False)
            if not args.skip_deep:
                timed_verify(engine, settings, deep=True)
            engine.dispose()


if __name__ == "__main__":
    main()
