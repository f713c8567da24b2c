"""Commit latency of ``persist_analysis_report`` on MariaDB: p50 / p99 / max over N reports.

    .venv/bin/python -m bench.bench_persist                       # 1,000 reports, 3 artifacts
    .venv/bin/python -m bench.bench_persist --reports 200 --rerun # plus same-bytes re-runs

Uses a fresh private database on the test server (``TEST_MYSQL_URL``, default root@127.0.0.1)
created with ``db upgrade``, and a temporary staging directory. Each report has three small
staged artifacts and a final object of about 10 KB (50 row-level issues). Only the
``persist_analysis_report`` call is timed (staging is not); the database is dropped afterwards.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
import structlog

from outbox.db import create_database_engine
from outbox.migrations import upgrade
from outbox.persist import persist_analysis_report
from outbox.settings import Settings
from tests.integration.outbox.support import build_final_object, stage_artifacts
from tests.support import mariadb


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return ordered[index]


def describe(label: str, millis: list[float]) -> str:
    return (
        f"{label:<28} n={len(millis):>5}  p50={percentile(millis, 0.50):7.2f} ms  "
        f"p99={percentile(millis, 0.99):7.2f} ms  max={max(millis):7.2f} ms  "
        f"mean={statistics.fmean(millis):7.2f} ms"
    )


def measure(settings: Settings, engine: sa.Engine, count: int, prefix: str) -> list[float]:
    millis: list[float] = []
    for number in range(count):
        analysis_id = f"{prefix}-{number:06d}"
        artifacts = stage_artifacts(settings, analysis_id, b"bench")
        final = build_final_object(analysis_id, artifacts, row_level_issues=50)
        started = time.perf_counter()
        persist_analysis_report(engine, final, artifacts, settings)
        millis.append((time.perf_counter() - started) * 1000)
    return millis


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--rerun", action="store_true", help="also time same-bytes re-runs")
    args = parser.parse_args()

    server = mariadb.server_url()
    error = mariadb.reachable(server)
    if error is not None:
        raise SystemExit(f"MariaDB unreachable at {server.render_as_string()}: {error}")
    url = mariadb.create_database(server, prefix="cmd_bench")
    try:
        with tempfile.TemporaryDirectory(prefix="cmd-bench-staging-") as staging:
            settings = dataclasses.replace(
                Settings(),
                database_url=url.render_as_string(hide_password=False),
                staging_dir=Path(staging),
                artifact_store_url="s3://bench-bucket",
            )
            engine = create_database_engine(settings)
            upgrade(engine)
            structlog.configure(
                wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING)
            )
            measure(settings, engine, min(20, args.reports), "warmup")
            first = measure(settings, engine, args.reports, "bench")
            print(f"persist_analysis_report on {engine.dialect.name} (3 artifacts per report)")
            print(describe("first commit", first))
            if args.rerun:
                again = measure(settings, engine, args.reports, "bench")
                print(describe("re-run, same bytes", again))
            engine.dispose()
    finally:
        mariadb.drop_database(url)


if __name__ == "__main__":
    main()
