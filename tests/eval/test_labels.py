"""Every file of the evaluation corpus produces the findings its labels require and none of
those they forbid."""

from __future__ import annotations

import pytest

from domain.engine import analyze_input
from tests.eval.corpus import Case, load_cases

CASES = list(load_cases())


@pytest.mark.parametrize("case", CASES, ids=[c.path.name for c in CASES])
def test_labels_hold(case: Case) -> None:
    profile = analyze_input(case.path).profile
    missed = [label.describe() for label in case.must if not label.matches(profile)]
    wrong = [label.describe() for label in case.must_not if label.matches(profile)]
    assert not missed, f"{case.path.name}: expected findings missing: {missed}"
    assert not wrong, f"{case.path.name}: forbidden findings present: {wrong}"


def test_every_corpus_file_is_labelled() -> None:
    labelled = {case.path.resolve() for case in CASES}
    here = CASES[0].path.parents[1]
    files = {p.resolve() for p in here.glob("*/*.csv")}
    assert files == labelled
