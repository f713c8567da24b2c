from __future__ import annotations

import subprocess
import sys

import pytest

from outbox import crashpoints


def test_unknown_point_is_refused() -> None:
    with pytest.raises(crashpoints.UnknownCrashPointError, match="CLEAN_MY_DATA_CRASH_AT"):
        crashpoints.arm("nowhere")


def test_unarmed_and_other_points_do_nothing() -> None:
    crashpoints.arm(crashpoints.AFTER_FLIP)
    try:
        crashpoints.reach(crashpoints.AFTER_CLAIM)  # returns: not the armed point
    finally:
        crashpoints.arm(None)
    crashpoints.reach(crashpoints.AFTER_FLIP)  # disarmed: returns


def test_armed_point_exits_at_once_without_cleanup() -> None:
    code = (
        "import atexit, sys\n"
        "from outbox import crashpoints\n"
        "atexit.register(lambda: print('cleanup ran'))\n"
        "crashpoints.arm('after_upload')\n"
        "crashpoints.reach('after_upload')\n"
        "print('not reached')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == crashpoints.CRASH_EXIT_CODE
    assert result.stdout == ""  # neither the atexit hook nor the next line ran
    assert "crash point after_upload reached" in result.stderr
