"""Throughput and peak memory of ``clean-my-data analyze``, end to end (all three downloads),
staged (the default) side by side with ``--inline`` on the same file.

    .venv/bin/python -m bench.bench_analyze                  # 200 MB and 1 GB
    .venv/bin/python -m bench.bench_analyze --sizes 50       # a quick look

Each run is a fresh child process with its own SQLite database and staging directory under the
work directory; peak RSS is that process's own. Inputs come from ``bench.dirty_data`` (same seed,
same bytes) and are kept in the work directory for the next run.

``--inline`` is bounded by ``INLINE_MAX_BYTES`` (64 MiB by default): on inputs above it the run
is refused at once, which is what a user gets. ``--inline-uncapped`` adds inline runs with the
cap lifted, to show what holding the downloads as base64 costs.

Targets: >= 20 MB/s end to end on 200 MB; < 500 MB peak RSS staged on 1 GB.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from bench.cli_runner import MB, Run, ensure_input, isolated_env, run_cli

UNCAPPED = str(1 << 40)


def describe(size_mb: int, mode: str, run: Run, input_bytes: int) -> str:
    if run.returncode != 0 or run.final_object is None:
        return (
            f"| {size_mb} MB | {mode} | exit {run.returncode} after {run.seconds:.1f} s | - | - | "
            f"{run.peak_rss_bytes / MB:.0f} MB | {run.stderr_tail[:100]} |"
        )
    rows = run.final_object["report"]["analysisSummary"]["shape"]["rows_in"]
    return (
        f"| {size_mb} MB | {mode} | {run.seconds:.1f} s ({run.cpu_seconds:.1f} CPU-s) | "
        f"{input_bytes / MB / run.seconds:.1f} | "
        f"{rows / run.seconds:,.0f} | {run.peak_rss_bytes / MB:.0f} MB | "
        f"object {run.output_bytes:,} B; phases {run.phase_seconds()} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1024], help="input MiB")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "cmd-bench")
    parser.add_argument("--no-inline", action="store_true", help="staged runs only")
    parser.add_argument(
        "--inline-uncapped",
        type=int,
        nargs="*",
        default=[],
        metavar="MB",
        help="sizes at which to also run --inline with INLINE_MAX_BYTES lifted",
    )
    args = parser.parse_args()

    print("| input | mode | wall | MB/s | rows/s | peak RSS | notes |")
    print("|---|---|---|---|---|---|---|")
    for size_mb in args.sizes:
        source = ensure_input(args.workdir / "inputs", size_mb)
        input_bytes = source.stat().st_size
        modes: list[tuple[str, list[str], dict[str, str]]] = [("staged", [], {})]
        if not args.no_inline:
            modes.append(("inline", ["--inline"], {}))
        if size_mb in args.inline_uncapped:
            modes.append(("inline, cap lifted", ["--inline"], {"INLINE_MAX_BYTES": UNCAPPED}))
        for mode, flags, extra in modes:
            workdir = Path(tempfile.mkdtemp(prefix="run-", dir=args.workdir))
            try:
                run = run_cli(
                    ["analyze", str(source), "--analysis-id", f"bench-{size_mb}", *flags],
                    isolated_env(workdir, **extra),
                    workdir / "final.json",
                )
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
            print(describe(size_mb, mode, run, input_bytes), flush=True)


if __name__ == "__main__":
    main()
