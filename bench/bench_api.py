"""The HTTP API against bare baselines, side by side in one run on the same machine and client.

1. Upload: ``POST /api/v1/analyses`` (raw body, streamed to the store) vs a bare Starlette
   handler that writes the body to disk, interleaved ``--repeat`` times each (page cache
   flushed before each); ratio of the median times and the API process's RSS growth.
2. Read: ``GET /api/v1/analyses/{id}`` with 32 concurrent clients vs a bare FastAPI endpoint
   returning the same JSON from memory, in ``--repeat`` interleaved rounds; requests per second
   ratio and p99 latency (as the client sees it, 32 requests in flight), and the API's own
   p99 handling time: the upper bound of the ``cmd_api_request_seconds`` histogram bucket (from
   ``/metrics``, the rounds' difference) that holds 99 % of those GETs.
3. Pipeline (``--pipeline-mb``, 20 by default, 0 skips it): a dirty CSV of ``bench/dirty_data.py``
   from ``POST /api/v1/analyses`` until every download is ``uploaded``, through ``serve`` with
   its one worker and one relay, vs ``clean-my-data analyze`` then ``clean-my-data relay
   --once`` on the same file (each in its own fresh database and store), interleaved
   ``--pipeline-repeat`` times; ratio of the median times. ``--pipeline-store seaweedfs`` uses
   a SeaweedFS started here (tests/support/seaweed.py), a new bucket per run.

    python -m bench.bench_api [--upload-mb 1024] [--repeat 3] [--reads 3000] [--concurrency 32]
                              [--pipeline-mb 20] [--pipeline-repeat 3]
                              [--pipeline-store local|seaweedfs] [--skip-api]

Embedded default (SQLite + local directory) in a temporary directory; ``serve --no-worker`` so
no analysis competes with the measurement (the read benchmark's analysis is run by
``worker --once`` beforehand).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
from prometheus_client.parser import text_string_to_metric_families

from bench.dirty_data import write_dirty_csv
from tests.support import seaweed
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 1024 * 1024
MB = 1024 * 1024
CLI = [sys.executable, "-m", "clean_my_data.main"]

BARE_APP = """
import json, os, sys
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

DOCUMENT = json.loads(open(sys.argv[2]).read()) if len(sys.argv) > 2 else {}
app = FastAPI()

@app.post("/upload")
async def upload(request: Request) -> Response:
    with open(os.path.join(sys.argv[1], "body.bin"), "wb") as sink:
        async for chunk in request.stream():
            sink.write(chunk)
    return Response(status_code=202)

@app.get("/doc")
async def doc() -> JSONResponse:
    return JSONResponse(DOCUMENT)
"""


def wait_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def body(total: int) -> Iterator[bytes]:
    block = (b"id,name,amount\n" + b"12345,some name,678.90\n" * 45000)[:CHUNK]
    sent = 0
    while sent < total:
        piece = block[: min(CHUNK, total - sent)]
        sent += len(piece)
        yield piece


MULTIPART_BOUNDARY = "cmd-bench-boundary-7d1f"


def multipart_body(total: int) -> tuple[Iterator[bytes], dict[str, str]]:
    """``body(total)`` as the one ``file`` part of a multipart/form-data body, streamed."""
    head = (
        f"--{MULTIPART_BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="u.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    tail = f"\r\n--{MULTIPART_BOUNDARY}--\r\n".encode()
    headers = {
        "content-type": f"multipart/form-data; boundary={MULTIPART_BOUNDARY}",
        "content-length": str(len(head) + total + len(tail)),
    }
    return itertools.chain([head], body(total), [tail]), headers


def time_upload(url: str, total: int, *, form: str = "raw", **params: str) -> float:
    """Seconds to upload ``total`` bytes as the raw body or (``form="multipart"``) as the
    ``file`` part of a multipart body."""
    content, headers = multipart_body(total) if form == "multipart" else (body(total), {})
    os.sync()  # the previous upload's dirty pages are not flushed during this one
    started = time.perf_counter()
    answer = httpx.post(url, content=content, headers=headers, params=params, timeout=3600)
    assert answer.status_code == 202, answer.text
    return time.perf_counter() - started


async def hammer(url: str, count: int, concurrency: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue = iter(range(count))
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as c:

        async def client() -> None:
            for _ in queue:
                started = time.perf_counter()
                answer = await c.get(url)
                latencies.append(time.perf_counter() - started)
                assert answer.status_code == 200

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


READ_ROUTE = "/api/v1/analyses/{analysis_id}"


def latency_buckets(api_url: str) -> dict[float, float]:
    """Cumulative counts of the API's request-latency histogram for the read route, by upper
    bound (seconds)."""
    text = httpx.get(api_url + "/metrics").text
    counts: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "cmd_api_request_seconds":
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket") and sample.labels.get("route") == READ_ROUTE:
                counts[float(sample.labels["le"])] = sample.value
    return counts


def server_p99_bound(before: dict[float, float], after: dict[float, float]) -> float:
    """The smallest bucket bound holding 99 % of the requests counted between two scrapes."""
    grown = {bound: after[bound] - before.get(bound, 0.0) for bound in sorted(after)}
    total = grown[float("inf")]
    return next(bound for bound, count in grown.items() if count >= 0.99 * total)


def embedded_env(work: Path, **extra: str) -> dict[str, str]:
    (work / "staging").mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
        "ARTIFACT_STORE_URL": f"file://{work / 'store'}",
        "STAGING_DIR": str(work / "staging"),
        "WORKER_SCRATCH_DIR": str(work / "scratch"),
        "LOG_LEVEL": "warning",
        **extra,
    }


def time_cli_pipeline(source: Path, env: dict[str, str]) -> float:
    """``analyze`` then ``relay --once``: every download uploaded when the second exits."""
    started = time.perf_counter()
    for args in (["analyze", str(source), "--analysis-id", "p"], ["relay", "--once"]):
        subprocess.run([*CLI, *args], env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def all_uploaded(document: dict[str, object]) -> bool:
    final = document.get("final_object")
    if not isinstance(final, dict):
        return False
    entries = final["report"]["downloads"]
    return bool(entries) and all(entry["status"] == "uploaded" for entry in entries)


def time_served_pipeline(source: Path, env: dict[str, str]) -> float:
    """``serve`` (its worker and relay in the process): submit until every download is
    uploaded, polled every 20 ms; the server is up before the clock starts."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--worker"],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_up(url + "/healthz", server)
        with httpx.Client(base_url=url, timeout=600) as client:
            started = time.perf_counter()
            with source.open("rb") as handle:
                answer = client.post(
                    "/api/v1/analyses",
                    content=handle,
                    params={"analysis_id": "p", "file_name": source.name},
                )
            assert answer.status_code == 202, answer.text
            while True:
                document = client.get("/api/v1/analyses/p").json()
                if all_uploaded(document):
                    return time.perf_counter() - started
                assert document["job"]["status"] != "failed", document
                time.sleep(0.02)
    finally:
        server.terminate()
        server.wait(timeout=60)


class PipelineStores:
    """A fresh store for each pipeline run: a local directory, or a new bucket of a SeaweedFS
    started here (its first write done before the clock starts)."""

    def __init__(self, kind: str) -> None:
        self.server = seaweed.start_seaweed() if kind == "seaweedfs" else None
        self.buckets = 0

    def env(self, place: Path) -> dict[str, str]:
        env = embedded_env(place)
        if self.server is None:
            return env
        self.buckets += 1
        bucket = f"bench-pipeline-{self.buckets}"
        client = self.server.client()
        client.create_bucket(Bucket=bucket)
        client.put_object(Bucket=bucket, Key="warm-up", Body=b"x")
        return {**env, **self.server.env(), "ARTIFACT_STORE_URL": f"s3://{bucket}"}

    def close(self) -> None:
        if self.server is not None:
            seaweed.stop_seaweed(self.server)


def bench_pipeline(work: Path, size_mb: int, repeat: int, store: str) -> None:
    source = work / f"dirty-{size_mb}mb.csv"
    write_dirty_csv(source, size_mb * MB)
    cli_runs: list[float] = []
    served_runs: list[float] = []
    stores = PipelineStores(store)
    try:
        for run in range(repeat):
            for which in ("cli", "serve") if run % 2 == 0 else ("serve", "cli"):
                place = work / f"pipeline-{which}-{run}"
                env = stores.env(place)
                if which == "cli":
                    cli_runs.append(time_cli_pipeline(source, env))
                else:
                    served_runs.append(time_served_pipeline(source, env))
                shutil.rmtree(place, ignore_errors=True)
    finally:
        stores.close()
    cli_s, served_s = statistics.median(cli_runs), statistics.median(served_runs)
    print(
        f"pipeline {size_mb} MB dirty CSV, SQLite + {store} store, median of {repeat}: serve "
        f"(submit to 4 downloads uploaded) {served_s:.2f} s, analyze + relay --once "
        f"{cli_s:.2f} s, ratio {served_s / cli_s:.2f}x (serve runs "
        f"{', '.join(f'{t:.2f}' for t in served_runs)} s; cli "
        f"{', '.join(f'{t:.2f}' for t in cli_runs)} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--upload-mb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3, help="uploads of each, interleaved")
    parser.add_argument(
        "--form",
        choices=("raw", "multipart"),
        default="raw",
        help="the API's upload as the raw body or as a multipart file part (the bare handler "
        "always takes the raw body)",
    )
    parser.add_argument("--reads", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--pipeline-mb", type=int, default=20, help="0: no pipeline section")
    parser.add_argument("--pipeline-repeat", type=int, default=3)
    parser.add_argument("--pipeline-store", choices=("local", "seaweedfs"), default="local")
    parser.add_argument("--skip-api", action="store_true", help="the pipeline section only")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-api-"))
    try:
        if not args.skip_api:
            bench_api(args, work)
        if args.pipeline_mb:
            bench_pipeline(work, args.pipeline_mb, args.pipeline_repeat, args.pipeline_store)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench_api(args: argparse.Namespace, work: Path) -> None:
    env = embedded_env(work, MAX_UPLOAD_BYTES=str(args.upload_mb * MB + 1))
    cli = CLI
    subprocess.run(
        [*cli, "submit", str(ROOT / "tests/fixtures/messy_orders.csv"), "--analysis-id", "r"],
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run([*cli, "worker", "--once"], env=env, check=True, capture_output=True)
    subprocess.run([*cli, "relay", "--once"], env=env, check=True, capture_output=True)

    api_port, bare_port = free_port(), free_port()
    api = subprocess.Popen([*cli, "serve", "--port", str(api_port), "--no-worker"], env=env)
    api_url = f"http://127.0.0.1:{api_port}"
    wait_up(api_url + "/healthz", api)
    document = httpx.get(api_url + "/api/v1/analyses/r").json()
    (work / "doc.json").write_text(json.dumps(document))
    (work / "bare").mkdir()
    (work / "bare.py").write_text(BARE_APP)
    bare = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, uvicorn; sys.path.insert(0, sys.argv[3]); import bare; "
            "uvicorn.run(bare.app, host='127.0.0.1', port=int(sys.argv[4]), log_level='warning')",
            str(work / "bare"),
            str(work / "doc.json"),
            str(work),
            str(bare_port),
        ],
    )
    bare_url = f"http://127.0.0.1:{bare_port}"
    wait_up(bare_url + "/doc", bare)
    try:
        rss = psutil.Process(api.pid)
        before = rss.memory_info().rss
        total = args.upload_mb * MB
        bare_runs: list[float] = []
        api_runs: list[float] = []
        for run in range(args.repeat):  # interleaved, the order alternating
            for which in ("bare", "api") if run % 2 == 0 else ("api", "bare"):
                if which == "bare":
                    bare_runs.append(time_upload(bare_url + "/upload", total))
                    continue
                params = {"analysis_id": f"up-{run}", "file_name": "u.csv"}
                api_runs.append(
                    time_upload(api_url + "/api/v1/analyses", total, form=args.form, **params)
                )
                for stored in (work / "store" / "inputs").iterdir():
                    if stored.stat().st_size > MB:  # keep the disk free; the job stays queued
                        stored.unlink()
        grown = (rss.memory_info().rss - before) / MB
        bare_s, api_s = statistics.median(bare_runs), statistics.median(api_runs)
        print(
            f"upload {args.upload_mb} MB ({args.form}), median of {args.repeat}: "
            f"api {total / MB / api_s:.1f} MB/s, bare {total / MB / bare_s:.1f} MB/s, "
            f"ratio {bare_s / api_s:.2f}x; api RSS +{grown:.1f} MB "
            f"(api runs {', '.join(f'{t:.2f}' for t in api_runs)} s; "
            f"bare {', '.join(f'{t:.2f}' for t in bare_runs)} s)"
        )
        for url in (bare_url + "/doc", api_url + "/api/v1/analyses/r"):
            asyncio.run(hammer(url, 200, args.concurrency))  # warm-up
        urls = {"bare": bare_url + "/doc", "api": api_url + "/api/v1/analyses/r"}
        seconds = {"bare": 0.0, "api": 0.0}
        latencies: dict[str, list[float]] = {"bare": [], "api": []}
        rounds = max(1, args.repeat)
        buckets_before = latency_buckets(api_url)
        for run in range(rounds):  # interleaved like the uploads: a load spike hits both
            for which in ("bare", "api") if run % 2 == 0 else ("api", "bare"):
                count = args.reads // rounds
                took, seen = asyncio.run(hammer(urls[which], count, args.concurrency))
                seconds[which] += took
                latencies[which] += seen
        done = (args.reads // rounds) * rounds
        handled = server_p99_bound(buckets_before, latency_buckets(api_url))
        print(
            f"GET x{done} in {rounds} interleaved rounds, {args.concurrency} clients: "
            f"api {done / seconds['api']:.0f}/s p99 {p99(latencies['api']) * 1000:.1f} ms, "
            f"bare {done / seconds['bare']:.0f}/s p99 {p99(latencies['bare']) * 1000:.1f} ms, "
            f"ratio {seconds['bare'] / seconds['api']:.2f}x; "
            f"api p99 handling time (server-side) <= {handled * 1000:.0f} ms"
        )
    finally:
        for process in (api, bare):
            process.terminate()
            process.wait(timeout=60)


if __name__ == "__main__":
    main()
