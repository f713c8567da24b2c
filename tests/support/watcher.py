"""Run deploy/watch-inbox.sh (the transformer container's watch folder) in a test."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def run_watch_inbox(
    root: Path,
    env: Mapping[str, str],
    done: Callable[[], bool],
    *,
    interval: str = "0.1",
    timeout: float = 60.0,
) -> subprocess.CompletedProcess[str]:
    """Run watch-inbox.sh on ``root``/inbox (results and archive beside it) until ``done()``
    holds, the script exits or ``timeout`` passes; then SIGTERM it and return its result."""
    process = subprocess.Popen(
        [
            str(DEPLOY / "watch-inbox.sh"),
            str(root / "inbox"),
            str(root / "results"),
            str(root / "archive"),
            interval,
            "3",
        ],
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + timeout
    try:
        while not done() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
