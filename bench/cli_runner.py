"""Run the ``clean-my-data`` CLI in a child process and measure it: wall time and the child's
own peak RSS (``os.wait4`` returns the rusage of exactly that child)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
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
    cpu_seconds: float  # user + system time of the child, all its threads
    returncode: int
    output_bytes: int  # size of the printed final object
    final_object: dict[str, Any] | None
    stderr_tail: str
    started_at: float  # time.time() when the child was started
    events: tuple[dict[str, Any], ...]  # structured log lines (JSON) from stderr

    def phase_seconds(self) -> dict[str, float]:
        """Seconds from start to the CSV staged (start-up, both engine passes, CSV writing),
        then for the xlsx, the JSON, and the commit (from the ``artifact_staged`` and
        ``analysis_completed`` log events of the staged path)."""
        marks = [self.started_at]
        for event in self.events:
            if event.get("event") in ("artifact_staged", "analysis_completed"):
                stamp = datetime.fromisoformat(str(event["timestamp"]).replace("Z", "+00:00"))
                marks.append(stamp.timestamp())
        names = ("to_csv", "xlsx", "json", "commit")
        return {
            name: round(marks[i + 1] - marks[i], 2)
            for i, name in enumerate(names)
            if i + 1 < len(marks)
        }


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
        LOG_LEVEL="info",
        LOG_FORMAT="json",
    )
    env.update(extra)
    return env


def _last_line(data: bytes) -> str:
    lines = [
        line
        for line in data.decode("utf-8", "replace").strip().splitlines()
        if not line.startswith("{")
    ]
    return lines[-1] if lines else ""


def _events(data: bytes) -> list[dict[str, Any]]:
    events = []
    for line in data.decode("utf-8", "replace").splitlines():
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return events


def run_cli(args: list[str], env: dict[str, str], output: Path) -> Run:
    """Run ``clean-my-data ARGS --output OUTPUT`` and measure it."""
    started = time.monotonic()
    started_at = time.time()
    process = subprocess.Popen(
        [str(CLI), *args, "--output", str(output)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    stderr = process.stderr.read()  # small: a few info events
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
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        returncode=process.returncode,
        output_bytes=output_bytes,
        final_object=final_object,
        stderr_tail=_last_line(stderr),
        started_at=started_at,
        events=tuple(_events(stderr)),
    )
