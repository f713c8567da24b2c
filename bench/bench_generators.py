"""The download generators alone (no engine): synthetic cleaned batches and row issues of a
given size go through the pipeline's generator stage (CSV + spill, then xlsx, then JSON) into a
throw-away sink, and each stage's time is printed. Separates generator cost from engine cost.

    .venv/bin/python -m bench.bench_generators [--rows 2000000] [--issues-per-row 2]
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

from domain.artifacts import ArtifactSink, ArtifactSpec, WriteFn, WrittenArtifact
from domain.model import ROW_ISSUE_SCHEMA, CleanedChunk
from domain.pipeline import run_analysis
from tests.unit.downloads.fakes import make_profile

COLUMNS = 10
CHUNK = 65_536


class _Discard:
    def __init__(self) -> None:
        self.size = 0
        self.digest = hashlib.sha256()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(data)
        self.digest.update(view)
        self.size += view.nbytes
        return view.nbytes

    def flush(self) -> None:
        return None

    def tell(self) -> int:
        return self.size


class DiscardSink(ArtifactSink):
    """Hashes and counts like the staging sink, keeps nothing; records per artifact the wall
    time it was open and the CPU time of the thread that wrote it. The JSON report is open for
    the whole cleaning pass (its writer thread is fed chunk by chunk), so for it only the thread
    CPU time measures the serialiser; the CSV's thread is the main one, whose time includes
    synthesising the batches."""

    def __init__(self) -> None:
        self.timings: list[tuple[str, float, float, int]] = []

    def write_artifact(self, spec: ArtifactSpec, write: WriteFn) -> WrittenArtifact:
        started, cpu = time.perf_counter(), time.thread_time()
        stream = _Discard()
        write(stream)  # type: ignore[arg-type]
        self.timings.append(
            (
                spec.kind,
                time.perf_counter() - started,
                time.thread_time() - cpu,
                stream.size,
            )
        )
        return WrittenArtifact(
            spec, stream.size, stream.digest.hexdigest(), "x", "k", "s3://b/k", None
        )


class SyntheticAnalysis:
    def __init__(self, rows: int, issues_per_row: int) -> None:
        self.rows = rows
        self.issues_per_row = issues_per_row
        base = make_profile(rows)
        header = tuple(f"col_{i}" for i in range(COLUMNS))
        self._profile = base.__class__(**{**base.__dict__, "cleaned_header": header})

    @property
    def profile(self):  # type: ignore[no-untyped-def]
        return self._profile

    def iter_cleaned(self, progress: object = None) -> Iterator[CleanedChunk]:
        rng = np.random.default_rng(0)
        words = np.array(["alpha", "Beta", "gamma delta", "=1+2", "12.50", "", "déjà vu", "x,y"])
        for start in range(0, self.rows, CHUNK):
            n = min(CHUNK, self.rows - start)
            cols = [pa.array(words[rng.integers(0, len(words), n)]) for _ in range(COLUMNS)]
            batch = pa.RecordBatch.from_arrays(cols, names=list(self._profile.cleaned_header))
            m = n * self.issues_per_row
            issues = pa.table(
                {
                    "row": pa.array(np.arange(start, start + m) // self.issues_per_row + 2),
                    "column": pa.array(np.array(["col_1", "col_2"])[rng.integers(0, 2, m)]),
                    "code": pa.array(
                        np.array(["whitespace", "null_sentinel"])[rng.integers(0, 2, m)]
                    ),
                    "severity": pa.array(np.array(["low", "medium"])[rng.integers(0, 2, m)]),
                    "old_value": pa.array(words[rng.integers(0, len(words), m)]),
                    "new_value": pa.array(words[rng.integers(0, len(words), m)]),
                    "action": pa.array(np.array(["trim_whitespace"] * m)),
                },
                schema=ROW_ISSUE_SCHEMA,
            )
            yield CleanedChunk(batch, issues)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--issues-per-row", type=int, default=2)
    args = parser.parse_args()
    analysis = SyntheticAnalysis(args.rows, args.issues_per_row)
    sink = DiscardSink()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        run_analysis(
            Path("synthetic.csv"),
            analysis_id="bench-generators",
            inline=False,
            sink=sink,
            scratch_dir=Path(scratch),
            analyze=lambda path, **_: analysis,
        )
    total = time.perf_counter() - started
    print(f"rows {args.rows:,}, row issues {args.rows * args.issues_per_row:,}")
    for kind, seconds, cpu, size in sink.timings:
        print(
            f"{kind:12s} open {seconds:6.2f} s, thread CPU {cpu:6.2f} s  {size / 1e6:8.1f} MB  "
            f"{size / 1e6 / max(cpu, 1e-9):7.1f} MB per CPU-second"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"total        {total:6.2f} s  (includes synthesising the data); peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
