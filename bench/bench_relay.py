"""Relay throughput vs a bare boto3 loop, scaling with relay processes, and commit->uploaded lag.

Starts its own SeaweedFS (tests/support/seaweed.py) and uses a private MariaDB database. For
each size the same staged files are first uploaded by a bare loop (``put_object`` per file,
boto3 defaults, one thread, nothing else) to a separate prefix, then by the same loop sending
the Content-Type the relay sends (SeaweedFS gzips every ``text/*`` body on the server, which
costs it about 1 CPU-second per 256 MB here), then by the relay (claim, upload, flip,
staged-file removal) from the outbox with its default settings (and once with
RELAY_CONCURRENCY=1); all in this run, against the same server. Each scenario's bucket gets one
small object first, so that growing the bucket's volumes is not timed in whichever loop runs
first.

    .venv/bin/python -m bench.bench_relay [--small 300] [--large 4] [--scale-records 600]
        [--sections small,large,scale,lag] [--repeat 1] [--relay-env NAME=VALUE]
        [--format csv|xlsx|json]

Each ratio row also gives the CPU-seconds spent during each loop by this process (all its
threads) and by the SeaweedFS process (from /proc/PID/stat): on two shared cores the wall times
swing with whatever else runs, the CPU-seconds much less.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import sqlalchemy as sa
from botocore.config import Config

from clean_my_data.logging_setup import configure_logging
from domain.model import ArtifactFormat
from outbox.db import create_database_engine
from outbox.migrations import upgrade
from outbox.settings import Settings
from outbox.tables import OUTBOX_DONE, outbox, outbox_attempts
from relay.stores.s3 import S3Store
from relay.worker import RelayWorker
from tests.support import mariadb, seaweed
from tests.unit.relay.staged import commit_analysis

KB = 1024
MB = 1024 * KB


class Bench:
    def __init__(self, server: seaweed.S3Server, db_url: str, root: Path) -> None:
        self.server = server
        self.db_url = db_url
        self.root = root
        self.client = boto3.client(
            "s3",
            endpoint_url=server.endpoint_url,
            aws_access_key_id=server.access_key,
            aws_secret_access_key=server.secret_key,
            region_name=server.region,
            config=Config(read_timeout=300),  # the shared machine can stall SeaweedFS
        )
        self.runs = 0

    def env(self, bucket: str, **extra: str) -> dict[str, str]:
        return {
            **self.server.env(),
            "DATABASE_URL": self.db_url,
            "ARTIFACT_STORE_URL": f"s3://{bucket}",
            "STAGING_DIR": str(self.root / "staging"),
            "LOG_LEVEL": "warning",
            "LOG_FORMAT": "json",
            "S3_READ_TIMEOUT_SECONDS": "300",
            **extra,
        }

    def fresh(self, engine: sa.Engine) -> str:
        """An empty bucket and empty tables for the next scenario."""
        self.runs += 1
        bucket = f"bench-relay-{self.runs}"
        self.client.create_bucket(Bucket=bucket)
        # SeaweedFS grows a bucket's volumes at its first write (about a second here): done
        # now, untimed, instead of in whichever loop writes first.
        self.client.put_object(Bucket=bucket, Key="warm-up", Body=b"x")
        with engine.begin() as conn:
            for table in ("outbox_attempts", "outbox", "downloads", "analysis_reports"):
                conn.execute(sa.text(f"DELETE FROM {table}"))
        return bucket

    def stage(
        self,
        engine: sa.Engine,
        settings: Settings,
        count: int,
        size: int,
        artifact_format: ArtifactFormat = ArtifactFormat.CSV,
    ) -> tuple[list[Path], str]:
        """The staged files and the Content-Type the relay sends for them."""
        staged: list[Path] = []
        content_type = ""
        for index in range(count):
            data = os.urandom(size)
            committed = commit_analysis(
                engine, settings, f"bench-{self.runs}-{index}", {artifact_format: data}
            )
            artifact = committed.artifacts[0]
            staged.append(settings.staging_dir / (artifact.staged_path or ""))
            content_type = artifact.spec.content_type
        return staged, content_type

    def server_cpu(self) -> float:
        """CPU-seconds used so far by the SeaweedFS process (one ``weed server``)."""
        assert self.server.process is not None
        fields = Path(f"/proc/{self.server.process.pid}/stat").read_text().rsplit(")", 1)[1]
        utime, stime = fields.split()[11:13]
        return (int(utime) + int(stime)) / os.sysconf("SC_CLK_TCK")

    def bare_loop(self, bucket: str, files: list[Path], content_type: str | None = None) -> Timing:
        prefix = "baseline" if content_type is None else "baseline-typed"
        extra: dict[str, Any] = {} if content_type is None else {"ContentType": content_type}
        started, cpu, server = time.perf_counter(), time.process_time(), self.server_cpu()
        for path in files:
            with path.open("rb") as body:
                self.client.put_object(
                    Bucket=bucket, Key=f"{prefix}/{path.name}", Body=body, **extra
                )
        return Timing(
            time.perf_counter() - started,
            time.process_time() - cpu,
            self.server_cpu() - server,
        )

    def relay_in_process(self, engine: sa.Engine, settings: Settings) -> Timing:
        worker = RelayWorker(engine, S3Store.from_settings(settings), settings)
        started, cpu, server = time.perf_counter(), time.process_time(), self.server_cpu()
        worker.drain()
        timing = Timing(
            time.perf_counter() - started,
            time.process_time() - cpu,
            self.server_cpu() - server,
        )
        worker.close()
        return timing


@dataclass(frozen=True)
class Timing:
    """One timed loop: wall seconds, CPU-seconds of this process (all threads) and of the
    SeaweedFS process."""

    wall: float
    cpu: float
    server_cpu: float


def count_done(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).where(outbox.c.state == OUTBOX_DONE)
            ).scalar_one()
        )


def compare(
    bench: Bench,
    engine: sa.Engine,
    count: int,
    size: int,
    concurrency: int | None,
    relay_env: dict[str, str],
    artifact_format: ArtifactFormat = ArtifactFormat.CSV,
) -> tuple[str, tuple[float, float, float]]:
    """Bare loops then relay on the same staged files; ``concurrency`` None: relay defaults
    (apart from ``relay_env``, settings given on the command line for experiments). Dirty
    pages are written out (``sync``) before each timed loop, so that the kernel's periodic
    writeback of earlier writes does not land in one loop more than another. Returns the row's
    label and the three wall times."""
    bucket = bench.fresh(engine)
    overrides = {} if concurrency is None else {"RELAY_CONCURRENCY": str(concurrency)}
    settings = Settings.from_env(bench.env(bucket, **{**relay_env, **overrides}))
    label = (
        f"defaults (concurrency {settings.relay_concurrency}, batch {settings.relay_batch_size})"
        if concurrency is None
        else f"concurrency {concurrency}"
    )
    label += "".join(f", {name}={value}" for name, value in relay_env.items())
    if artifact_format is not ArtifactFormat.CSV:
        label += f", {artifact_format.value} artifacts"
    files, content_type = bench.stage(engine, settings, count, size, artifact_format)
    os.sync()
    bare = bench.bare_loop(bucket, files)
    os.sync()
    typed = bench.bare_loop(bucket, files, content_type)
    os.sync()
    relay = bench.relay_in_process(engine, settings)
    assert count_done(engine) == count, "not every record was uploaded"
    total_mb = count * size / MB

    def figures(timing: Timing) -> str:
        return (
            f"{timing.wall:.2f} s ({total_mb / timing.wall:.1f} MB/s, "
            f"{count / timing.wall:.0f}/s), {timing.cpu:.2f} CPU-s, "
            f"server {timing.server_cpu:.2f} CPU-s"
        )

    row = f"{size // KB} KB x {count} | relay, {label}"
    print(
        f"| {row} | {figures(bare)} | {figures(typed)} | {figures(relay)} | "
        f"**{bare.wall / relay.wall:.2f}x** | {typed.wall / relay.wall:.2f}x |",
        flush=True,
    )
    return row, (bare.wall, typed.wall, relay.wall)


def print_medians(runs: dict[str, list[tuple[float, float, float]]]) -> None:
    """One line per row: median wall times over the repeats, and the medians of the per-run
    ratios (each run's loops ran back to back; a ratio of column medians would pair different
    runs)."""
    print()
    print(
        "| artifacts | relay | runs | median bare loop | median bare loop + Content-Type | "
        "median relay | median relay / bare | median relay / bare with Content-Type | "
        "per-run relay / bare |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row, times in runs.items():
        bare, typed, relay = (statistics.median(column) for column in zip(*times, strict=True))
        ratio = statistics.median(b / r for b, _, r in times)
        typed_ratio = statistics.median(t / r for _, t, r in times)
        each = ", ".join(f"{b / r:.2f}" for b, _, r in times)
        print(
            f"| {row} | {len(times)} | {bare:.2f} s | {typed:.2f} s | {relay:.2f} s | "
            f"**{ratio:.2f}x** | {typed_ratio:.2f}x | {each} |",
            flush=True,
        )


def scale(bench: Bench, engine: sa.Engine, count: int, processes: int) -> None:
    bucket = bench.fresh(engine)
    env = bench.env(bucket, PATH=os.environ.get("PATH", ""))
    bench.stage(engine, Settings.from_env(env), count, 10 * KB)
    started = time.perf_counter()
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "clean_my_data.main", "relay", "--once"],
            env={**env, "RELAY_ID": f"bench-{n}"},
        )
        for n in range(processes)
    ]
    for child in children:
        child.wait()
    elapsed = time.perf_counter() - started
    done = count_done(engine)
    with engine.connect() as conn:  # the draining itself, without process start-up
        first = conn.execute(sa.select(sa.func.min(outbox_attempts.c.started_at))).scalar_one()
        last = conn.execute(sa.select(sa.func.max(outbox.c.finished_at))).scalar_one()
        actors = conn.execute(
            sa.select(sa.func.count(sa.distinct(outbox_attempts.c.actor)))
        ).scalar_one()
    draining = (last - first).total_seconds()
    print(
        f"| {processes} | {count} x 10 KB | {draining:.2f} s | {done / draining:.0f}/s | "
        f"{elapsed:.2f} s | {done}/{count} done by {actors} relays |",
        flush=True,
    )


def lag(bench: Bench, engine: sa.Engine, commits: int, interval: float) -> None:
    bucket = bench.fresh(engine)
    env = bench.env(bucket, PATH=os.environ.get("PATH", ""), RELAY_ID="bench-lag")
    settings = Settings.from_env(env)
    daemon = subprocess.Popen([sys.executable, "-m", "clean_my_data.main", "relay"], env=env)
    try:
        time.sleep(3)  # let the daemon start
        for index in range(commits):
            commit_analysis(
                engine, settings, f"lag-{index}", {ArtifactFormat.CSV: os.urandom(10 * KB)}
            )
            time.sleep(interval)
        wait_until(lambda: count_done(engine) == commits, 60)
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(outbox.c.created_at, outbox.c.finished_at).where(
                outbox.c.state == OUTBOX_DONE
            )
        ).all()
    lags = sorted((done - created).total_seconds() * 1000 for created, done in rows)
    p50 = statistics.median(lags)
    p99 = lags[min(len(lags) - 1, round(0.99 * (len(lags) - 1)))]
    print(
        f"| {len(lags)} commits, one every {interval * 1000:.0f} ms | p50 {p50:.0f} ms | "
        f"p99 {p99:.0f} ms | max {lags[-1]:.0f} ms |",
        flush=True,
    )


def wait_until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=300, help="10 KB artifacts per run")
    parser.add_argument("--large", type=int, default=4, help="64 MB artifacts per run")
    parser.add_argument("--scale-records", type=int, default=600)
    parser.add_argument("--lag-commits", type=int, default=100)
    parser.add_argument(
        "--sections",
        default="small,large,scale,lag",
        help="comma-separated subset of: small, large (the ratio rows), scale, lag",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each ratio row")
    parser.add_argument(
        "--relay-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a relay setting for the ratio rows (experiments; the label shows it)",
    )
    parser.add_argument(
        "--format",
        choices=[f.value for f in ArtifactFormat],
        default=ArtifactFormat.CSV.value,
        help="artifact kind of the ratio rows, hence the Content-Type the relay sends "
        "(csv: text/csv, which SeaweedFS gzips on the server; xlsx: not gzipped)",
    )
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    relay_env = dict(item.split("=", 1) for item in args.relay_env)
    configure_logging("json", "warning")
    root = Path(tempfile.mkdtemp(prefix="bench-relay-"))
    (root / "staging").mkdir()
    server = seaweed.start_seaweed()
    db = mariadb.create_database(mariadb.server_url(), prefix="bench_relay")
    db_url = db.render_as_string(hide_password=False)
    os.environ["AWS_ACCESS_KEY_ID"] = server.access_key
    os.environ["AWS_SECRET_ACCESS_KEY"] = server.secret_key
    engine = create_database_engine(Settings.from_env({"DATABASE_URL": db_url}))
    upgrade(engine)
    bench = Bench(server, db_url, root)
    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores)", flush=True)
    try:
        print(
            "| artifacts | relay | bare loop | bare loop + the relay's Content-Type | relay | "
            "relay / bare | relay / bare with Content-Type |"
        )
        print("|---|---|---|---|---|---|---|")
        runs: dict[str, list[tuple[float, float, float]]] = {}
        for _ in range(args.repeat):
            rows = []
            if "small" in sections:
                rows += [(args.small, 10 * KB, 1), (args.small, 10 * KB, None)]
            if "large" in sections:
                rows += [(args.large, 64 * MB, 1), (args.large, 64 * MB, None)]
            for count, size, concurrency in rows:
                row, times = compare(
                    bench,
                    engine,
                    count,
                    size,
                    concurrency,
                    relay_env,
                    ArtifactFormat(args.format),
                )
                runs.setdefault(row, []).append(times)
        if args.repeat > 1:
            print_medians(runs)
        if "scale" in sections:
            print()
            print(
                "| relay processes | records | draining time | throughput | "
                "wall time incl. start-up | done |"
            )
            print("|---|---|---|---|---|---|")
            for processes in (1, 2, 4):
                scale(bench, engine, args.scale_records, processes)
        if "lag" in sections:
            print()
            print("| lag commit -> uploaded (daemon, default 0.5 s poll) | p50 | p99 | max |")
            print("|---|---|---|---|")
            lag(bench, engine, args.lag_commits, 0.05)
        print(f"load average at end: {os.getloadavg()[0]:.1f} (2 cores)", flush=True)
    finally:
        engine.dispose()
        mariadb.drop_database(db)
        seaweed.stop_seaweed(server)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
