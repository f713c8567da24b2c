"""Run the ``clean-my-data`` CLI in a child process and measure it: wall time and the child's
own peak RSS (``os.wait4`` returns the rusage of exactly that child)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.dirty_data import write_dirty_csv

ROOT = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).with_name("clean-my-data")
MB = 1024 * 1024


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_bytes: int
    returncode: int
    output_bytes: int  # size of the printed final object
    final_object: dict[str, Any] | None
    stderr_tail: str


def ensure_input(directory: Path, size_mb: int, seed: int = 0) -> Path:
    """The deterministic dirty CSV of ``size_mb`` MiB, generated once and reused."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"dirty_{size_mb}mb_seed{seed}.csv"
    if not path.exists():
        started = time.monotonic()
        partial = path.with_suffix(".partial")
        write_dirty_csv(partial, size_mb * MB, seed=seed)
        partial.rename(path)
        print(f"# generated {path.name} in {time.monotonic() - started:.1f}s", flush=True)
    return path


def isolated_env(workdir: Path, **extra: str) -> dict[str, str]:
    """A SQLite database and staging directory private to one benchmark run."""
    staging = workdir / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite3'}",
        STAGING_DIR=str(staging),
        ARTIFACT_STORE_URL=f"file://{workdir / 'artifacts'}",
        LOG_LEVEL="warning",
        LOG_FORMAT="json",
    )
    env.update(extra)
    return env


def _last_line(data: bytes) -> str:
    lines = data.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else ""


def run_cli(args: list[str], env: dict[str, str], output: Path) -> Run:
    """Run ``clean-my-data ARGS --output OUTPUT`` and measure it."""
    started = time.monotonic()
    process = subprocess.Popen(
        [str(CLI), *args, "--output", str(output)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    stderr = process.stderr.read()  # small: warnings only
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    final_object = None
    output_bytes = 0
    if process.returncode == 0 and output.exists():
        output_bytes = output.stat().st_size
        with output.open("rb") as handle:
            final_object = json.load(handle)
    return Run(
        seconds=seconds,
        peak_rss_bytes=usage.ru_maxrss * 1024,  # Linux reports KiB
        returncode=process.returncode,
        output_bytes=output_bytes,
        final_object=final_object,
        stderr_tail=_last_line(stderr),
    )
