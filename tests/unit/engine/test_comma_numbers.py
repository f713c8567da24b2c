"""A comma in a number is converted only where it can only be a thousands separator: ``1,500``
alone may be 1500 or 1.5 (a decimal comma), and is read as 1500 only in a column that writes
thousands separators or decimal points elsewhere and no decimal comma."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.engine import analyze_input
from domain.engine.profiling import ColumnStats
from domain.engine.verdicts import reads_lone_groups

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "cleaning" / "comma_numbers.csv"


def _changes(path: Path) -> dict[str, dict[str, str | None]]:
    analysis = analyze_input(path)
    changed: dict[str, dict[str, str | None]] = {}
    for chunk in analysis.iter_cleaned():
        for issue in chunk.issues.to_pylist():
            if issue["action"] == "converted":
                changed.setdefault(issue["column"], {})[issue["old_value"]] = issue["new_value"]
    return changed


def test_only_commas_that_can_only_be_thousands_separators_are_converted() -> None:
    analysis = analyze_input(FIXTURE)
    types = {c.name: c.inferred_type for c in analysis.profile.columns}
    assert types["weight_kg"] == "text"  # 0,125 is a decimal comma: so are 1,500 and 12,750
    assert types["units"] == "text"  # 1,500 and 2,000 beside plain integers: undecided
    assert _changes(FIXTURE) == {
        # 1,234,567 and $1,234.50 show thousands separators: 2,500 is 2500
        "price": {
            "$1,234.50": "1234.50",
            "2,500": "2500",
            "1,234,567": "1234567",
            "$9": "9",
            "4,000": "4000",
        },
        # 2.5 and 0.75 show decimal points: 1,250 is 1250
        "rate": {"1,250": "1250", "3,000": "3000", "1,500": "1500"},
    }


@pytest.mark.parametrize(
    ("thousands", "fractional", "decimal_commas", "reads"),
    [
        (0, 0, 0, False),  # only lone groups: 1,500 may be 1.5
        (1, 0, 0, True),  # 1,234,567 or 1,234.50 elsewhere
        (0, 3, 0, True),  # 2.5 elsewhere
        (2, 3, 1, False),  # and 2,5 elsewhere: the column mixes both ways
    ],
)
def test_lone_groups_are_read_as_thousands_only_with_evidence(
    thousands: int, fractional: int, decimal_commas: int, reads: bool
) -> None:
    stats = ColumnStats(0, 10)
    stats.lone_groups = 4
    stats.thousands_groups = thousands
    stats.fractional = fractional
    stats.decimal_commas = decimal_commas
    assert reads_lone_groups(stats) is reads


def test_a_semicolon_export_with_three_decimal_weights_is_left_as_written(tmp_path: Path) -> None:
    path = tmp_path / "weights.csv"
    path.write_text(
        "id;weight_kg\n" + "".join(f"{i};{i},{(i * 125) % 1000:03d}\n" for i in range(1, 60)),
        encoding="utf-8",
    )
    assert _changes(path) == {}
