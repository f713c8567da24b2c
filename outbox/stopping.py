"""A graceful stop on SIGTERM/SIGINT for the long-running commands (relay, worker, serve): the
signal sets an event that their loops watch, so work in hand is finished and recorded before the
process exits 0."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import structlog

log = structlog.get_logger()


def stop_on_signals(stop: threading.Event, event: str) -> None:
    """SIGTERM and SIGINT set ``stop`` and log ``event`` with the signal's name (call from the
    main thread)."""

    def _handle(signum: int, _frame: FrameType | None) -> None:
        log.info(event, signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _handle)
    signal.signal(signal.SIGINT, _handle)
