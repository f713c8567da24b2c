"""What running the engine in worker processes could gain: the engine alone (pass 1 + pass 2,
``analyze_input`` then a full ``iter_cleaned``) on one file in one process, against the same
file cut into N parts at record boundaries, each part run by its own process at the same time.

An upper bound for a process-parallel engine: the parts are analysed independently (no merged
statistics, no duplicates across parts, no ordered output), so the figure leaves out every cost
of putting the parts back together. It prints wall time, CPU-seconds and each process's peak
RSS (``ru_maxrss``, imports included), whose sum is what the machine would hold.

    .venv/bin/python -m bench.bench_engine_split --input /tmp/bw/inputs/dirty_200mb_seed0.csv
        [--parts 2] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

CHILD = """
import json, resource, sys, time
from pathlib import Path
from domain.engine import analyze_input
started, cpu = time.perf_counter(), time.process_time()
analysis = analyze_input(Path(sys.argv[1]))
for _ in analysis.iter_cleaned():
    pass
print(json.dumps({
    "wall": time.perf_counter() - started,
    "cpu": time.process_time() - cpu,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


BLOCK = 8 * 1024 * 1024


def _record_end_after(handle: BinaryIO, start: int, target: int) -> int:
    """The offset just past the first line end at or after ``target`` that lies outside
    double quotes, counting quotes from ``start`` (a record boundary)."""
    handle.seek(start)
    position, quotes = start, 0
    while True:
        block = handle.read(BLOCK)
        if not block:
            return position
        if position + len(block) <= target:
            quotes += block.count(b'"')
            position += len(block)
            continue
        offset = max(0, target - position)
        quotes += block.count(b'"', 0, offset)
        while (newline := block.find(b"\n", offset)) != -1:
            quotes += block.count(b'"', offset, newline)
            if quotes % 2 == 0:
                return position + newline + 1
            offset = newline + 1
        quotes += block.count(b'"', offset)
        position += len(block)
        target = position


def split_at_records(source: Path, parts: int, folder: Path) -> list[Path]:
    """Cut ``source`` into ``parts`` files of about equal size, each with the header line,
    cutting only at a line end outside double quotes (so quoted line breaks stay whole).
    Streamed: this process must stay small, since Linux carries a process's peak RSS over to
    the children it starts (``ru_maxrss`` survives fork and exec)."""
    size = source.stat().st_size
    paths = []
    with source.open("rb") as handle:
        header = handle.readline()
        cuts = [len(header)]
        for index in range(1, parts):
            cuts.append(_record_end_after(handle, cuts[-1], max(cuts[-1], size * index // parts)))
        cuts.append(size)
        for index in range(parts):
            path = folder / f"part_{index}.csv"
            with path.open("wb") as out:
                out.write(header)
                handle.seek(cuts[index])
                remaining = cuts[index + 1] - cuts[index]
                while remaining:
                    block = handle.read(min(BLOCK, remaining))
                    out.write(block)
                    remaining -= len(block)
            paths.append(path)
    return paths


def run_engines(paths: list[Path]) -> tuple[float, list[dict[str, float]]]:
    """Run one engine process per path, all at once; the wall time of the slowest."""
    started = time.perf_counter()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, env=os.environ
        )
        for path in paths
    ]
    results = []
    for child in children:
        out, _ = child.communicate()
        if child.returncode != 0:
            raise SystemExit(f"engine process failed with exit code {child.returncode}")
        results.append(json.loads(out))
    return time.perf_counter() - started, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--parts", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    size_mb = args.input.stat().st_size / 1e6
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    print("| run | processes | wall | MB/s | CPU-s (sum) | peak RSS per process | sum of peaks |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        parts = split_at_records(args.input, args.parts, Path(tmp))
        for run in range(1, args.repeat + 1):
            for paths in ([args.input], parts):
                wall, results = run_engines(paths)
                peaks = [r["peak_mb"] for r in results]
                print(
                    f"| {run} | {len(paths)} | {wall:.1f} s | {size_mb / wall:.1f} | "
                    f"{sum(r['cpu'] for r in results):.1f} | "
                    f"{', '.join(f'{p:.0f}' for p in peaks)} MB | {sum(peaks):.0f} MB |",
                    flush=True,
                )
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
