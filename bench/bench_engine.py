"""Engine alone: throughput and peak RSS of analyze_input + one full iter_cleaned.

    .venv/bin/python bench/bench_engine.py --mb 200 [--profile generator|export] [--seed 0]
        [--keep DIR]

Generates a deterministic dirty CSV (bench/dirty_data.py: the generator's, or the export-like
one of bench_artifacts) into a temp dir, then runs pass 1 and pass 2 and prints MB/s (input
bytes / wall time of both passes), rows/s, CPU time and peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dirty_data import write_dirty_csv, write_export_csv
from domain.engine import analyze_input


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=200, help="input size in MB (10^6 bytes)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", choices=("generator", "export"), default="generator")
    parser.add_argument("--keep", type=Path, help="reuse/keep the input in this directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        prefix = "dirty" if args.profile == "generator" else "export"
        path = folder / f"{prefix}_{args.mb}mb_seed{args.seed}.csv"
        if not path.exists():
            started = time.perf_counter()
            write = write_dirty_csv if args.profile == "generator" else write_export_csv
            write(path, args.mb * 1_000_000, seed=args.seed)
            took = time.perf_counter() - started
            print(f"generated {path.stat().st_size / 1e6:.0f} MB in {took:.1f} s")
        size = path.stat().st_size
        rss_before = _peak_rss_mb()
        started = time.perf_counter()
        cpu_started = _cpu_seconds()
        analysis = analyze_input(path)
        pass1 = time.perf_counter() - started
        rows_out = issues = 0
        for chunk in analysis.iter_cleaned():
            rows_out += chunk.batch.num_rows
            issues += chunk.issues.num_rows
        total = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu_started
        profile = analysis.profile
        shape = profile.shape
        print(f"input: {size / 1e6:.0f} MB, {shape.rows_in} rows x {shape.columns_in} columns")
        print(f"pass 1: {pass1:.1f} s ({size / 1e6 / pass1:.0f} MB/s)")
        print(f"pass 2: {total - pass1:.1f} s ({size / 1e6 / (total - pass1):.0f} MB/s)")
        print(
            f"both passes: {total:.1f} s, {size / 1e6 / total:.1f} MB/s, "
            f"{profile.shape.rows_in / total:,.0f} rows/s"
        )
        print(
            f"CPU time (all threads): {cpu:.1f} s, {size / 1e6 / cpu:.1f} MB per CPU-second "
            "(less sensitive to a busy machine than wall time)"
        )
        print(f"rows out: {rows_out}, row issues: {issues}, findings: {len(profile.findings)}")
        print(f"peak RSS: {_peak_rss_mb():.0f} MB (before the engine: {rss_before:.0f} MB)")


if __name__ == "__main__":
    main()
