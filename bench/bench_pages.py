"""Report page weight and first paint, and the dashboard's server time, in Chromium against
a real ``clean-my-data serve`` (SQLite + local directory, worker and relay in the process).

    python bench/bench_pages.py [--columns 3000] [--rows 2000] [--history 100000]
                                [--direct-upload-mb 100 200] [--tall-mb 1024]

The report page is drawn from the stored report, whose size grows with the columns and the
findings, not with the rows: a wide input is the heavy case. ``--history`` adds that many
synthetic attempt rows before timing the dashboard and the first history page.

``--tall-mb N`` (0: skipped) times the report page of an analysis of an N MB export-like dirty
CSV (``bench/dirty_data.py``): the page never embeds the row-level trail, so its weight does not
grow with the input.

``--direct-upload-mb N ...`` (none: skipped) uploads an N MB CSV through the upload page of a
``serve`` on a SeaweedFS store (started here): the browser hashes the file and posts it straight
to S3. Baseline in the same run: Python's hashlib on the same file and a bare presigned POST of
it with httpx to the same SeaweedFS.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx

from tests.support.ports import free_port

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
FIRST_PAINT = """new Promise((resolve) => new PerformanceObserver((list) => {
  const entry = list.getEntries().find((e) => e.name === "first-contentful-paint");
  if (entry) { resolve(entry.startTime); }
}).observe({type: "paint", buffered: true}))"""


def write_wide_csv(path: Path, columns: int, rows: int) -> None:
    rng = random.Random(7)
    with path.open("w", encoding="utf-8") as out:
        out.write(",".join(f"Col {i}" for i in range(columns)) + "\n")
        for r in range(rows):
            cells = []
            for c in range(columns):
                kind = c % 4
                if rng.random() < 0.05 * (c % 7):
                    cells.append("")
                elif kind == 0:
                    cells.append(str(rng.randint(0, 10_000)))
                elif kind == 1:
                    cells.append(f" {rng.choice(['Boston', 'bostn', 'NEW YORK', 'new york'])} ")
                elif kind == 2:
                    cells.append(f"{rng.uniform(0, 1e6):,.2f}")
                else:
                    cells.append(f"2024-0{1 + r % 9}-1{r % 9}")
            out.write(",".join(f'"{v}"' if "," in v else v for v in cells) + "\n")


def add_history(env: dict[str, str], count: int) -> None:
    import sqlalchemy as sa

    from outbox.clock import utcnow
    from outbox.db import create_database_engine
    from outbox.settings import Settings
    from outbox.tables import outbox_attempts

    engine = create_database_engine(Settings.from_env(env))
    now = utcnow()
    with engine.begin() as conn:
        template = conn.execute(sa.select(outbox_attempts).limit(1)).mappings().one()
        base = {k: v for k, v in template.items() if k != "id"}
        batch = []
        for i in range(count):
            at = now - timedelta(seconds=i * 0.8)
            failed = i % 5 == 0
            batch.append(
                base
                | {
                    "recorded_at": at,
                    "started_at": at,
                    "outcome": "failed" if failed else base["outcome"],
                    "error_class": ("timeout", "access_denied", "unknown")[i % 3]
                    if failed
                    else None,
                }
            )
            if len(batch) == 5000:
                conn.execute(outbox_attempts.insert(), batch)
                batch = []
        if batch:
            conn.execute(outbox_attempts.insert(), batch)
    engine.dispose()


def start_serve(env: dict[str, str], root: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (root / "serve.log").open("ab")
    serve = subprocess.Popen(
        [sys.executable, "-m", "clean_my_data.main", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    for _ in range(300):
        try:
            if httpx.get(base + "/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    return serve, base


def write_tall_csv(path: Path, megabytes: int) -> None:
    line = "2024-03-01,ACME Corp , 1234.50,boston,ok\n"
    block = "date,customer,amount,city,state\n" + line * (1024 * 1024 // len(line))
    with path.open("w", encoding="utf-8") as out:
        out.write(block)
        for _ in range(megabytes - 1):
            out.write(line * (1024 * 1024 // len(line)))


def bench_direct_upload(sizes: list[int]) -> None:
    import hashlib

    from playwright.sync_api import sync_playwright

    from tests.support import seaweed

    server = seaweed.start_seaweed()
    try:
        for megabytes in sizes:
            with tempfile.TemporaryDirectory(prefix="bench-direct-") as tmp:
                root = Path(tmp)
                (root / "staging").mkdir()
                data = root / "tall.csv"
                write_tall_csv(data, megabytes)
                size_mb = data.stat().st_size / 1e6
                bucket = f"bench-direct-{megabytes}"
                s3 = server.client()
                s3.create_bucket(Bucket=bucket)
                started = time.perf_counter()
                digest = hashlib.sha256()
                with data.open("rb") as source:
                    while chunk := source.read(4 * 1024 * 1024):
                        digest.update(chunk)
                hash_py = time.perf_counter() - started
                post = s3.generate_presigned_post(
                    Bucket=bucket,
                    Key="inputs/bare",
                    Conditions=[["content-length-range", 1, data.stat().st_size]],
                )
                started = time.perf_counter()
                with data.open("rb") as source:
                    httpx.post(
                        post["url"], data=post["fields"], files={"file": source}, timeout=600
                    ).raise_for_status()
                post_py = time.perf_counter() - started

                env = {
                    **os.environ,
                    **server.env(),
                    "DATABASE_URL": f"sqlite:///{root / 'db.sqlite3'}",
                    "ARTIFACT_STORE_URL": f"s3://{bucket}",
                    "STAGING_DIR": str(root / "staging"),
                    "WORKER_SCRATCH_DIR": str(root / "scratch"),
                    "MAX_UPLOAD_BYTES": str(data.stat().st_size * 2),
                    "LOG_LEVEL": "warning",
                }
                serve, base = start_serve(env, root)
                try:
                    rule = {"AllowedOrigins": [base], "AllowedMethods": ["POST"]}
                    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [rule]})
                    with sync_playwright() as playwright:
                        browser = playwright.chromium.launch(
                            executable_path=CHROMIUM, args=["--no-sandbox"]
                        )
                        page = browser.new_page()
                        page.goto(base + "/upload")
                        page.set_input_files("#file", str(data))
                        queued = base + "/api/v1/analyses"
                        with page.expect_response(
                            lambda r, url=queued: r.url == url and r.request.method == "POST",
                            timeout=600_000,
                        ) as answered:
                            started = time.perf_counter()
                            page.click("#upload-button")
                            page.wait_for_function(
                                "() => document.getElementById('hash-progress').value >= 100",
                                polling=20,
                                timeout=600_000,
                            )
                            hash_js = time.perf_counter() - started
                        total_js = time.perf_counter() - started
                        assert answered.value.status == 202
                        browser.close()
                finally:
                    serve.terminate()
                    serve.wait(timeout=60)
            how = "WebCrypto" if megabytes * 1024 * 1024 <= 128 * 1024 * 1024 else "4 MiB slices"
            print(
                f"direct upload of {size_mb:.0f} MB through the page: {total_js:.1f} s to the 202 "
                f"(hash in the browser, {how}, {hash_js:.1f} s = {size_mb / hash_js:.0f} MB/s; "
                f"POST to S3 and queue {total_js - hash_js:.1f} s); "
                f"bare: hashlib {hash_py:.2f} s = {size_mb / hash_py:.0f} MB/s, "
                f"presigned POST from httpx {post_py:.1f} s; "
                f"page/bare {total_js / (hash_py + post_py):.2f}x"
            )
    finally:
        seaweed.stop_seaweed(server)


def server_ms(client: httpx.Client, path: str, runs: int = 7) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
        size = len(answer.content)
    times.sort()
    return times[len(times) // 2], size


def measure_report_page(client: httpx.Client, base: str, analysis_id: str) -> None:
    """Print the final object's size, the report page's server time, and its first paint and
    weight in Chromium (median of five loads)."""
    from playwright.sync_api import sync_playwright

    report_json = client.get(f"/api/v1/analyses/{analysis_id}").content
    print(f"final object (API JSON): {len(report_json) / 1024:.0f} KiB")
    report_path = f"/analyses/{analysis_id}"
    ms, size = server_ms(client, report_path)
    print(f"report page: server {ms:.0f} ms (median of 7), HTML {size / 1024:.0f} KiB")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        paints, weights = [], []
        for _ in range(5):
            page.goto(base + report_path, wait_until="load")
            fcp = page.evaluate(FIRST_PAINT)
            weight = page.evaluate(
                "performance.getEntriesByType('navigation')[0].transferSize + "
                "performance.getEntriesByType('resource')"
                ".reduce((s, r) => s + (r.transferSize || r.encodedBodySize), 0)"
            )
            paints.append(float(fcp))
            weights.append(int(weight))
        browser.close()
    paints.sort()
    print(
        f"report page in Chromium: first contentful paint median {paints[2]:.0f} ms "
        f"(range {paints[0]:.0f}-{paints[-1]:.0f}), page weight {max(weights) / 1024:.0f} KiB"
    )


def bench_tall_report(megabytes: int) -> None:
    """The report page of an analysis of an N MB export-like dirty CSV (bench/dirty_data.py),
    analysed by ``clean-my-data analyze`` into the database ``serve`` then reads."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench.dirty_data import write_export_csv

    with tempfile.TemporaryDirectory(prefix="bench-pages-tall-") as tmp:
        root = Path(tmp)
        (root / "staging").mkdir()
        data = root / "export.csv"
        write_export_csv(data, megabytes << 20)
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{root / 'db.sqlite3'}",
            "ARTIFACT_STORE_URL": f"file://{root / 'store'}",
            "STAGING_DIR": str(root / "staging"),
            "WORKER_SCRATCH_DIR": str(root / "scratch"),
            "LOG_LEVEL": "warning",
        }
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "clean_my_data.main",
                "analyze",
                str(data),
                "--analysis-id",
                "tall",
            ],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        analysed = time.perf_counter() - started
        size_mb = data.stat().st_size / 1e6
        print(f"input: {size_mb:.0f} MB export-like CSV, analysed in {analysed:.0f} s")
        serve, base = start_serve(env, root)
        try:
            measure_report_page(httpx.Client(base_url=base, timeout=600), base, "tall")
        finally:
            serve.terminate()
            serve.wait(timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--columns", type=int, default=3000)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--history", type=int, default=100_000)
    parser.add_argument("--direct-upload-mb", type=int, nargs="*", default=[100, 200])
    parser.add_argument("--tall-mb", type=int, default=0)
    args = parser.parse_args()
    if args.direct_upload_mb:
        bench_direct_upload(args.direct_upload_mb)
    if args.tall_mb:
        bench_tall_report(args.tall_mb)
    if not args.columns:
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        root = Path(tmp)
        (root / "staging").mkdir()
        data = root / "wide.csv"
        write_wide_csv(data, args.columns, args.rows)
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{root / 'db.sqlite3'}",
            "ARTIFACT_STORE_URL": f"file://{root / 'store'}",
            "STAGING_DIR": str(root / "staging"),
            "WORKER_SCRATCH_DIR": str(root / "scratch"),
            "MAX_UPLOAD_BYTES": str(max(data.stat().st_size * 2, 10_000_000)),
            "WORKER_POLL_INTERVAL_SECONDS": "0.2",
            "RELAY_POLL_INTERVAL_SECONDS": "0.2",
            "LOG_LEVEL": "warning",
        }
        serve, base = start_serve(env, root)
        try:
            client = httpx.Client(base_url=base, timeout=600)
            submitted = client.post(
                "/api/v1/analyses", params={"file_name": "wide.csv"}, content=data.read_bytes()
            )
            submitted.raise_for_status()
            analysis_id = submitted.json()["job"]["analysis_id"]
            job = client.get(f"/api/v1/analyses/{analysis_id}", params={"wait": 60}).json()
            while job["job"]["status"] not in ("succeeded", "failed"):
                job = client.get(f"/api/v1/analyses/{analysis_id}", params={"wait": 60}).json()
            size_mb = data.stat().st_size / 1e6
            print(f"input: {size_mb:.1f} MB, {args.columns} columns x {args.rows} rows")
            measure_report_page(client, base, analysis_id)
            if args.history:
                add_history(env, args.history)
                ms, _ = server_ms(client, "/audit")
                print(
                    f"dashboard with +{args.history} history rows: server {ms:.0f} ms (median of 7)"
                )
                ms, _ = server_ms(client, "/audit/history")
                print(f"history first page: server {ms:.0f} ms (median of 7)")
        finally:
            serve.terminate()
            serve.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
