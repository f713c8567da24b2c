"""The parse limit, ``analyze`` with every download, and the bytes of each artifact against
the input, for the same file in one run.

    .venv/bin/python -m bench.bench_artifacts                          # export profile, 200 MB
    .venv/bin/python -m bench.bench_artifacts --profile generator --sizes 50 200

Profiles: ``export`` (``bench.dirty_data.write_export_csv``: semicolons, decimal commas, mixed
date formats, case and whitespace noise, null tokens; most rows have two to four cells the
engine changes) and ``generator`` (``bench.dirty_data.write_dirty_csv``, the project's own).

For each size, ``--repeat`` times (default 3), interleaved: the parse limit (a bare polars
read of the file, every column as text, in a fresh process of its own, like the input's
generation: Linux starts a child with its parent's high-water RSS, so either in this process
would show in the next child's peak), then ``clean-my-data analyze`` staged in a child process
(its own SQLite database and staging directory; peak RSS is the child's own). Printed: the
ratio of the fastest parse to the fastest ``analyze`` (and of their fewest CPU seconds), the
range of every run, each phase's share of the fastest run (between the ``artifact_staged`` /
``analysis_completed`` log events: start to the cleaned CSV staged holds both engine passes;
the Parquet trail completes on its own thread right after), and the bytes of each download
against the input. Time figures vary with the machine's load (printed beside them); byte
figures are exact and the same on every run.

Targets: total artifact bytes <= 1.2x the input and the JSON report <= 0.5x on the export
profile; peak RSS < 500 MB on 1 GB.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from bench.cli_runner import MB, Run, isolated_env, run_cli
from bench.dirty_data import write_dirty_csv, write_export_csv

PROFILES: dict[str, tuple[Callable[[Path, int, int], None], str]] = {
    "export": (write_export_csv, ";"),
    "generator": (write_dirty_csv, ","),
}


def ensure_profile_input(directory: Path, profile: str, size_mb: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{profile}_{size_mb}mb_seed0.csv"
    if not path.exists():
        partial = path.with_suffix(".partial")
        PROFILES[profile][0](partial, size_mb * MB, 0)
        partial.rename(path)
    return path


def parse_limit_seconds(path: Path, separator: str) -> tuple[float, float]:
    """A bare polars read of the whole file, every column as text: wall and CPU seconds (all
    threads of this process)."""
    started, cpu_started = time.monotonic(), time.process_time()
    frame = pl.read_csv(path, separator=separator, infer_schema=False)
    seconds, cpu = time.monotonic() - started, time.process_time() - cpu_started
    del frame
    return seconds, cpu


def in_child(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` in a fresh process: this process stays small, so the ``analyze``
    child (which Linux starts with its parent's high-water RSS) reports its own peak."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(function, args)


def phases(run: Run, downloads: list[dict[str, Any]]) -> list[tuple[str, float]]:
    """(phase, seconds) from the start to each artifact staged, then to the commit."""
    names = {d["download_id"]: d["format"] for d in downloads}
    marks: list[tuple[str, float]] = []
    for event in run.events:
        kind = event.get("event")
        if kind not in ("artifact_staged", "analysis_completed"):
            continue
        stamp = datetime.fromisoformat(str(event["timestamp"]).replace("Z", "+00:00"))
        label = (
            names.get(str(event.get("download_id")), "?") if kind != "analysis_completed" else ""
        )
        marks.append((f"to {label}" if label else "commit", stamp.timestamp()))
    out: list[tuple[str, float]] = []
    previous = run.started_at
    for label, stamp in marks:
        out.append((label, stamp - previous))
        previous = stamp
    return out


def report(profile: str, source: Path, parses: list[tuple[float, float]], runs: list[Run]) -> None:
    """The fastest parse against the fastest ``analyze`` (each figure's best case, so the noise
    of a shared machine does not flatter the ratio), with the range of every run."""
    parse_s, parse_cpu = min(parses)
    failed = [r for r in runs if r.returncode != 0 or r.final_object is None]
    run = failed[0] if failed else min(runs, key=lambda r: r.seconds)
    input_bytes = source.stat().st_size
    load = os.getloadavg()[0]
    print(f"\n## {profile}, {input_bytes / MB:.0f} MiB ({input_bytes:,} bytes), load {load:.1f}")
    if run.returncode != 0 or run.final_object is None:
        print(f"analyze failed: exit {run.returncode}: {run.stderr_tail}")
        return
    report_body = run.final_object["report"]
    rows = report_body["analysisSummary"]["shape"]["rows_in"]
    issues = report_body["rowLevelIssuesTotal"]
    print(f"rows {rows:,}; row-level issues {issues:,} ({issues / max(rows, 1):.2f} per row)")
    print("\n| step | time | rate | ratio to the parse limit |\n|---|---|---|---|")
    parse_rate = input_bytes / MB / parse_s
    rate = input_bytes / MB / run.seconds
    print(
        f"| parse limit (polars, all text) | {parse_s:.2f} s ({parse_cpu:.1f} CPU-s) | "
        f"{parse_rate:.1f} MB/s | 1x |"
    )
    print(
        f"| analyze, staged, all downloads | {run.seconds:.2f} s ({run.cpu_seconds:.1f} CPU-s)"
        f" | {rate:.1f} MB/s | {rate / parse_rate:.3f}x (CPU: "
        f"{min(c for _, c in parses) / min(r.cpu_seconds for r in runs):.3f}x) |"
    )
    if len(runs) > 1:
        print(
            f"\n{len(runs)} runs of each, interleaved; best above. Parse limit "
            f"{_spread(s for s, _ in parses)} s ({_spread(c for _, c in parses)} CPU-s); "
            f"analyze {_spread(r.seconds for r in runs)} s "
            f"({_spread(r.cpu_seconds for r in runs)} CPU-s)."
        )
    peak = max(r.peak_rss_bytes for r in runs)
    print(f"\npeak RSS of analyze (highest run): {peak / MB:.0f} MB")
    print("\n| phase | seconds | share |\n|---|---|---|")
    for label, seconds in phases(run, report_body["downloads"]):
        print(f"| {label} | {seconds:.2f} | {seconds / run.seconds:.0%} |")
    print("\n| artifact | bytes | x input |\n|---|---|---|")
    total = 0
    for download in report_body["downloads"]:
        size = int(download["size_bytes"])
        total += size
        print(f"| {download['file_name']} | {size:,} | {size / input_bytes:.3f} |")
    print(f"| all downloads | {total:,} | {total / input_bytes:.3f} |")


def _spread(values: Iterable[float]) -> str:
    ordered = sorted(values)
    return f"{ordered[0]:.2f}-{ordered[-1]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200], help="input MiB")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="export")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "cmd-bench")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of the parse limit and of analyze, interleaved"
    )
    args = parser.parse_args()
    for size_mb in args.sizes:
        source = in_child(ensure_profile_input, args.workdir / "inputs", args.profile, size_mb)
        parses: list[tuple[float, float]] = []
        runs: list[Run] = []
        for _ in range(max(1, args.repeat)):
            parses.append(in_child(parse_limit_seconds, source, PROFILES[args.profile][1]))
            workdir = Path(tempfile.mkdtemp(prefix="run-", dir=args.workdir))
            try:
                analysis_id = f"bench-{args.profile}-{size_mb}"
                runs.append(
                    run_cli(
                        ["analyze", str(source), "--analysis-id", analysis_id],
                        isolated_env(workdir),
                        workdir / "final.json",
                    )
                )
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
        report(args.profile, source, parses, runs)


if __name__ == "__main__":
    main()
