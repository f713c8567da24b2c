"""The routing decisions and the executive summary state every change cleaning made."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from domain.engine import EngineOptions
from domain.engine.refine import CHANGE_CODES
from domain.report import RowIssueDigest, write_executive_summary
from tests.support.trail_check import run_cleaning
from tests.unit.engine.test_cleaning_principle import CHOICES, FIXTURES, ROOT

ROW_DROPS = {"duplicate_row": "drop_duplicate_rows", "empty_column": "drop_empty_columns"}


@pytest.mark.parametrize("options", CHOICES, ids=["default", "neutralise-drop", "keep"])
@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_change_has_an_applied_decision_with_its_count(
    path: Path, options: EngineOptions
) -> None:
    run = run_cleaning(path, options)
    profile = run.analysis.profile
    routing = {d.action: d for d in profile.routing}
    changes = Counter(str(i["code"]) for i in run.issues if i["action"] != "flagged")
    for code in changes:
        if code in ROW_DROPS:
            assert routing[ROW_DROPS[code]].applied, code
            continue
        action = next(a for a, codes in CHANGE_CODES.items() if code in codes)
        decision = routing[action]
        expected = sum(changes[c] for c in CHANGE_CODES[action])
        assert (decision.applied, decision.changed) == (True, expected), code
    for action, codes in CHANGE_CODES.items():
        if not any(changes[c] for c in codes):
            assert not routing[action].applied, action
    summary = write_executive_summary(profile, RowIssueDigest(total=len(run.issues)))
    applied = [d for d in profile.routing if d.applied]
    assert bool(changes) <= bool(applied)
    for decision in applied:
        assert f"{decision.action.replace('_', ' ')} ({decision.changed:,})" in summary
    assert ("No cleaning action was needed." in summary) == (not applied)


def test_the_summary_names_each_change_with_its_count() -> None:
    run = run_cleaning(ROOT / "tests" / "fixtures" / "messy_orders.csv")
    summary = write_executive_summary(run.analysis.profile, RowIssueDigest(total=1))
    trimmed = sum(1 for i in run.issues if i["action"] == "trimmed")
    assert trimmed > 0
    assert f"trim whitespace ({trimmed})" in summary
