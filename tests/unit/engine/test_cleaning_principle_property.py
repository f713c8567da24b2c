"""Random small tables of tricky cells: whatever the cleaner does, the trail shows it."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.choices import DUPLICATE_CHOICES, FORMULA_CHOICES
from domain.engine import EngineOptions
from tests.support.trail_check import find_unexplained_changes

CELLS = [
    "",
    " ",
    "NA",
    "na",
    "Na",
    "n/a",
    "null",
    "-",
    "Missing",
    "1",
    " 2 ",
    "1,234.50",
    "$5",
    "007",
    "Oslo",
    "oslo",
    " OSLO ",
    "Ösló",
    "B+",
    "B-",
    "=1+1",
    "@x",
    "-2+3",
    "2024-01-02",
    "03/01/2024",
    "fr,en",
]


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=1, max_value=6).flatmap(
        lambda width: st.lists(
            st.lists(st.sampled_from(CELLS), min_size=width, max_size=width),
            min_size=1,
            max_size=40,
        )
    ),
    st.sampled_from(DUPLICATE_CHOICES),
    st.sampled_from(FORMULA_CHOICES),
)
def test_every_change_is_in_the_trail(
    rows: list[list[str]], duplicates: str, formulas: str
) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow([f"col{i}" for i in range(len(rows[0]))])
    writer.writerows(rows)
    options = EngineOptions(duplicates=duplicates, formula_cells=formulas)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.csv"
        path.write_text(text.getvalue(), encoding="utf-8")
        assert find_unexplained_changes(path, options) == []
