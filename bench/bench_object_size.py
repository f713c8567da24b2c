"""Size of the printed final object, staged vs inline, for one input (100 MB by default).

    .venv/bin/python -m bench.bench_object_size [--size 100]

The inline run lifts ``INLINE_MAX_BYTES`` (a 100 MB input is above the 64 MiB default) so that
the base64 object can be measured at all. Each run has its own SQLite database and staging dir.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from bench.cli_runner import MB, ensure_input, isolated_env, run_cli


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100, help="input MiB")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "cmd-bench")
    args = parser.parse_args()
    source = ensure_input(args.workdir / "inputs", args.size)
    print(f"input: {source.name}, {source.stat().st_size:,} bytes")
    print("| mode | printed object | of which downloads | row-level issues in object | peak RSS |")
    print("|---|---|---|---|---|")
    for mode, flags, extra in (
        ("staged", [], {}),
        ("inline", ["--inline"], {"INLINE_MAX_BYTES": str(1 << 40)}),
    ):
        workdir = Path(tempfile.mkdtemp(prefix="size-", dir=args.workdir))
        try:
            run = run_cli(
                ["analyze", str(source), "--analysis-id", f"size-{args.size}", *flags],
                isolated_env(workdir, **extra),
                workdir / "final.json",
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if run.final_object is None:
            print(f"| {mode} | failed: exit {run.returncode}: {run.stderr_tail} | | | |")
            continue
        report = run.final_object["report"]
        downloads = len(json.dumps(report["downloads"]).encode())
        print(
            f"| {mode} | {run.output_bytes:,} B | {downloads:,} B | "
            f"{len(report['rowLevelIssues'])} of {report['rowLevelIssuesTotal']:,} | "
            f"{run.peak_rss_bytes / MB:.0f} MB |",
            flush=True,
        )


if __name__ == "__main__":
    main()
