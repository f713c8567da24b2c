"""The duplicate-row tracker alone: time to mark every row of a pass.

    .venv/bin/python -m bench.bench_duplicates [--rows 2200000] [--chunk 23500] [--repeat 5]

Feeds random 64-bit row hashes (3 % of each chunk repeats an earlier hash) to
``DuplicateTracker.mark`` chunk by chunk, as one engine pass does for the benchmark's 200 MB CSV
(~2.2 million rows, ~23,500 per 2 MiB chunk), and prints the best and median time of
``--repeat`` passes and the distinct count.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.engine.duplicates import DuplicateTracker


def make_chunks(rows: int, chunk: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, 2**63, size=rows, dtype=np.uint64)
    chunks = []
    for start in range(0, rows, chunk):
        part = pool[start : start + chunk].copy()
        repeats = part.size * 3 // 100
        part[:repeats] = pool[rng.integers(0, start + part.size, repeats)]
        chunks.append(part)
    return chunks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2_200_000)
    parser.add_argument("--chunk", type=int, default=23_500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    chunks = make_chunks(args.rows, args.chunk)
    times = []
    distinct = 0
    for _ in range(args.repeat):
        tracker = DuplicateTracker()
        started = time.perf_counter()
        for part in chunks:
            tracker.mark(part)
        times.append(time.perf_counter() - started)
        distinct = tracker.distinct
    print(
        f"{args.rows:,} rows in {len(chunks)} chunks: best {min(times):.3f} s, "
        f"median {statistics.median(times):.3f} s, {distinct:,} distinct"
    )


if __name__ == "__main__":
    main()
