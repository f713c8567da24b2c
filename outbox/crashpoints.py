"""Named crash points for fault-injection tests.

``CLEAN_MY_DATA_CRASH_AT=<point>`` (read by the settings object) arms one point; when the process
reaches it, it exits at once with ``os._exit`` — no cleanup, no flush, no rollback — exactly as
if it had been killed there. Unarmed, ``reach`` costs one comparison.
"""

from __future__ import annotations

import os
import sys
from typing import Final

CRASH_EXIT_CODE: Final = 86

# Transformer (clean-my-data analyze)
AFTER_STAGING: Final = "after_staging"  # every artifact staged, nothing committed
BEFORE_COMMIT: Final = "before_commit"  # all statements executed, COMMIT not sent
AFTER_COMMIT: Final = "after_commit"  # committed, redundant staged files not yet removed
# Relay (clean-my-data relay)
AFTER_CLAIM: Final = "after_claim"  # lease taken and committed, upload not started
MID_UPLOAD: Final = "mid_upload"  # upload started, not finished
AFTER_UPLOAD: Final = "after_upload"  # object written, flip not committed
AFTER_FLIP: Final = "after_flip"  # flip committed, staged file not yet deleted

KNOWN_POINTS: Final = (
    AFTER_STAGING,
    BEFORE_COMMIT,
    AFTER_COMMIT,
    AFTER_CLAIM,
    MID_UPLOAD,
    AFTER_UPLOAD,
    AFTER_FLIP,
)

_armed: str | None = None


class UnknownCrashPointError(ValueError):
    pass


def arm(point: str | None) -> None:
    """Arm ``point`` (or disarm with None). Called once at start-up from the settings."""
    global _armed  # noqa: PLW0603 (process-wide by nature: it kills the process)
    if point is not None and point not in KNOWN_POINTS:
        raise UnknownCrashPointError(
            f"CLEAN_MY_DATA_CRASH_AT={point!r}: expected one of {', '.join(KNOWN_POINTS)}"
        )
    _armed = point


def reach(point: str) -> None:
    """Exit the process immediately if ``point`` is the armed crash point."""
    if _armed == point:
        sys.stderr.write(f"clean-my-data: crash point {point} reached, exiting\n")
        sys.stderr.flush()
        os._exit(CRASH_EXIT_CODE)
