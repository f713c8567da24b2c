"""The report's shape: one finding per kind across many columns, scores that any problem
lowers, and issue counts that never add unlike units."""

from __future__ import annotations

from pathlib import Path

from domain.engine import analyze_input
from domain.report import RowIssueDigest, build_report_body


def test_one_finding_lists_the_columns_sharing_a_problem(tmp_path: Path) -> None:
    years = [str(y) for y in range(1960, 2012)]
    lines = ["country," + ",".join(years)]
    for i in range(40):
        lines.append(f"C{i}," + ",".join("" if (i + j) % 4 == 0 else str(j) for j in range(52)))
    path = tmp_path / "wide.csv"
    path.write_text("\n".join(lines) + "\n")
    profile = analyze_input(path).profile
    missing = [f for f in profile.findings if f.code == "missing_values"]
    assert len(missing) == 1
    assert missing[0].column is None
    listed = [entry["column"] for entry in missing[0].details["columns"]]
    assert listed == years  # the user's names, 1960 included
    assert missing[0].count == sum(e["count"] for e in missing[0].details["columns"])
    assert missing[0].sample_rows


def test_one_duplicate_row_keeps_uniqueness_below_100(tmp_path: Path) -> None:
    path = tmp_path / "dups.csv"
    rows = [f"{i},{i % 7}" for i in range(1, 3000)] + ["5,5"]
    path.write_text("id,group\n" + "\n".join(rows) + "\n")
    analysis = analyze_input(path)
    list(analysis.iter_cleaned())
    assert analysis.profile.scores.uniqueness == 99.9  # 1 in 3000: rounded down, not to 100


def test_codes_that_lost_zeros_lower_validity(tmp_path: Path) -> None:
    path = tmp_path / "zips.csv"
    zips = [2134 if i % 4 == 0 else 10_000 + i * 37 for i in range(400)]
    path.write_text("shop,zip\n" + "".join(f"S{i % 9},{z}\n" for i, z in enumerate(zips)))
    profile = analyze_input(path).profile
    assert any(f.code == "lost_leading_zeros" for f in profile.findings)
    assert profile.scores.validity < 100


def test_issue_summary_counts_findings_and_affected_units_apart(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text("id,name\n1, Ann\n2,Bob\n2,Bob\n3,NA\n")
    analysis = analyze_input(path)
    list(analysis.iter_cleaned())
    summary = build_report_body(analysis.profile, RowIssueDigest())["issueSummary"]
    assert summary["by_code"]["duplicate_rows"] == 1
    assert summary["affected_rows_by_code"] == {"duplicate_rows": 1}
    assert summary["affected_cells_by_code"]["leading_trailing_whitespace"] == 1
    assert "duplicate_rows" not in summary["affected_cells_by_code"]


def test_findings_name_their_rows(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    lines = ["id,amount,city,note"]
    for i in range(2, 42):
        amount = "$1,200" if i == 5 else ("oops" if i == 9 else str(i))
        city = "BOSTON" if i == 7 else "Boston"
        note = "" if i in (3, 4) else ("N/A" if i == 6 else f"n{i}")
        lines.append(f'{i},"{amount}",{city},{note}')
    path.write_text("\n".join(lines) + "\n")
    analysis = analyze_input(path)
    list(analysis.iter_cleaned())
    rows = {(f.code, f.column): f.sample_rows for f in analysis.profile.findings}
    assert rows[("numeric_formatting", "amount")] == (5,)
    assert rows[("type_mismatch", "amount")] == (9,)
    assert rows[("case_noise", "city")] == (7,)
    assert rows[("missing_values", "note")] == (3, 4)  # the placeholder's row is its own
    assert rows[("null_sentinel", "note")] == (6,)
