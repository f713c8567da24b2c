from __future__ import annotations

import io

from clean_my_data.progress import TerminalProgress, format_progress


def test_format_progress_per_phase() -> None:
    assert format_progress("analysing", 50 * 1024 * 1024, 200 * 1024 * 1024) == (
        "analysing   25% (50.0 of 200.0 MB)"
    )
    assert format_progress("cleaning", 1024 * 1024, 10 * 1024 * 1024) == (
        "cleaning    10% (1.0 of 10.0 MB)"
    )
    assert format_progress("reporting", 1, 2) == "reporting   50% (1 of 2 reports)"
    assert format_progress("reporting", 5, 0) == "reporting      (5 of 0 reports)"


def test_terminal_progress_redraws_one_line_and_ends_it() -> None:
    out = io.StringIO()
    progress = TerminalProgress(out)
    progress("cleaning", 10, 10)
    progress("reporting", 2, 2)
    progress.finish()
    text = out.getvalue()
    assert text.count("\r") == 2
    assert text.endswith("\n")
    assert text.count("\n") == 1
    progress.finish()
    assert out.getvalue() == text
