"""A one-line progress display on stderr, for terminals only (the caller decides)."""

from __future__ import annotations

import sys
import time
from typing import Final, TextIO

from domain.pipeline import PHASE_ANALYSING, PHASE_CLEANING

MIN_INTERVAL_SECONDS: Final = 0.2
_MB: Final = 1024 * 1024


def format_progress(phase: str, done: int, total: int) -> str:
    """``analysing  42% (84.0 of 200.0 MB)``, ``reporting  50% (1 of 2 reports)``..."""
    share = f"{min(100, 100 * done // total):3d}%" if total > 0 else "   "
    if phase in (PHASE_ANALYSING, PHASE_CLEANING):
        amount = f"{done / _MB:.1f} of {total / _MB:.1f} MB"
    else:
        amount = f"{done} of {total} reports"
    return f"{phase:<10} {share} ({amount})"


class TerminalProgress:
    """Redraws one status line at most every :data:`MIN_INTERVAL_SECONDS` (and at phase ends)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._last_draw = 0.0
        self._width = 0
        self._drawn = False

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last_draw < MIN_INTERVAL_SECONDS and done < total:
            return
        self._last_draw = now
        line = format_progress(phase, done, total)
        padding = " " * max(0, self._width - len(line))
        self._stream.write(f"\r{line}{padding}")
        self._stream.flush()
        self._width = len(line)
        self._drawn = True

    def finish(self) -> None:
        """End the status line so that what follows starts on a fresh line."""
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = False
