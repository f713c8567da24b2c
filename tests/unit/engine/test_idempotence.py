"""Property: cleaning an already cleaned file changes nothing."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from domain.engine import analyze_input

CHANGING_ACTIONS = {"trimmed", "set_null", "converted", "merged", "dropped", "truncated", "padded"}
DIRTY = [
    "",
    " ",
    "a",
    " a",
    "A",
    "NA",
    "null",
    "-",
    "?",
    "1,234",
    "1234",
    "$5",
    "5",
    "12.50",
    "007",
    "2024-01-02",
    "02/01/2024",
    "x y",
    "X  Y",
    "y x",
    "=1+2",
    "@a",
    "New York",
    "new york ",
    "yes",
    "No",
    "true",
]
cell = st.one_of(st.sampled_from(DIRTY), st.text(alphabet="abAB 01,.$-", max_size=6))
label = st.one_of(
    st.sampled_from(["id", "Name", "", "name", "City Name"]), st.text("abc ", max_size=4)
)


def _write(path: Path, header: list[str], rows: list[list[str | None]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([["" if v is None else v for v in row] for row in rows])


def _clean(path: Path) -> tuple[list[str], list[list[str | None]], list[dict[str, object]]]:
    analysis = analyze_input(path)
    chunks = list(analysis.iter_cleaned())
    rows = [list(r.values()) for c in chunks for r in c.batch.to_pylist()]
    issues = pa.concat_tables([c.issues for c in chunks]).to_pylist() if chunks else []
    return list(analysis.profile.cleaned_header), rows, issues


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    width=st.integers(min_value=1, max_value=4),
    data=st.data(),
)
def test_cleaning_twice_changes_nothing(width: int, data: st.DataObject) -> None:
    header = data.draw(st.lists(label, min_size=width, max_size=width))
    rows = data.draw(st.lists(st.lists(cell, min_size=width, max_size=width), max_size=25))
    assume(any(h.strip() for h in header))
    with tempfile.TemporaryDirectory() as tmp:
        first_path = Path(tmp) / "in.csv"
        _write(first_path, header, rows)
        names, cleaned, _ = _clean(first_path)
        assume(names)  # every column empty: nothing left to re-read
        second_path = Path(tmp) / "cleaned.csv"
        _write(second_path, names, cleaned)
        names_again, cleaned_again, issues = _clean(second_path)
    assert names_again == names
    assert cleaned_again == cleaned
    changes = [i for i in issues if i["action"] in CHANGING_ACTIONS]
    assert changes == []
