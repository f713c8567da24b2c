"""The engine on a small messy fixture: exact findings, cleaned rows and row issues."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from domain.engine import Analysis, EngineOptions, analyze_input, cleaning
from domain.model import ROW_ISSUE_SCHEMA

FIXTURE = Path(__file__).parents[2] / "fixtures" / "messy_orders.csv"


@pytest.fixture(scope="module")
def analysis() -> Analysis:
    return analyze_input(FIXTURE)


@pytest.fixture(scope="module")
def cleaned(analysis: Analysis) -> tuple[pa.Table, pa.Table]:
    chunks = list(analysis.iter_cleaned())
    data = pa.Table.from_batches([c.batch for c in chunks])
    issues = pa.concat_tables([c.issues for c in chunks])
    return data, issues


def _finding(analysis: Analysis, code: str, column: str | None = None):  # type: ignore[no-untyped-def]
    found = [f for f in analysis.profile.findings if f.code == code and f.column == column]
    assert len(found) == 1, (code, column, analysis.profile.findings)
    return found[0]


def test_source_and_shape(analysis: Analysis) -> None:
    profile = analysis.profile
    assert profile.source.delimiter == ","
    assert profile.source.encoding == "utf-8"
    assert profile.shape.rows_in == 8
    assert profile.shape.columns_in == 8
    assert profile.shape.columns_out == 7
    assert profile.cleaned_header == ("id", "name", "city", "amount", "code", "date", "notes")


def test_table_findings_with_row_numbers(analysis: Analysis) -> None:
    ragged = _finding(analysis, "ragged_row")
    assert ragged.count == 2
    assert ragged.sample_rows == (8, 9)
    assert ragged.details == {"too_many": 1, "too_few": 1}
    assert _finding(analysis, "blank_rows").sample_rows == (7,)
    assert _finding(analysis, "duplicate_rows").sample_rows == (6,)


def test_column_findings(analysis: Analysis) -> None:
    assert _finding(analysis, "empty_column", "empty").count == 6  # kept rows only
    assert _finding(analysis, "leading_trailing_whitespace", "name").sample_rows == (2,)
    assert _finding(analysis, "numeric_formatting", "amount").count == 2
    assert _finding(analysis, "leading_zero_code", "code").count == 6
    assert _finding(analysis, "mixed_date_formats", "date").count == 1
    assert _finding(analysis, "null_sentinel", "notes").sample_rows == (4,)
    formula = _finding(analysis, "formula_injection_risk", "notes")
    assert formula.sample_rows == (2,)
    case = _finding(analysis, "case_noise", "city")
    assert case.count == 2
    assert case.details["clusters"] == {"New York": ["NEW YORK", "new york"]}


def test_inferred_types(analysis: Analysis) -> None:
    types = {c.name: c.inferred_type for c in analysis.profile.columns}
    assert types == {
        "id": "integer",
        "name": "text",
        "city": "text",
        "amount": "decimal",
        "code": "code",
        "date": "date",
        "empty": "empty",
        "notes": "text",
    }


def test_cleaned_rows(cleaned: tuple[pa.Table, pa.Table]) -> None:
    data, _ = cleaned
    assert data.schema == pa.schema([pa.field(n, pa.string()) for n in data.column_names])
    rows = data.to_pylist()
    assert [r["id"] for r in rows] == ["1", "2", "3", "4", "5", "6"]
    assert rows[0]["name"] == "Ann"
    assert rows[0]["amount"] == "1234.50"
    assert rows[2]["amount"] == "5"
    assert rows[0]["code"] == "007"  # codes keep their leading zeros
    assert rows[2]["notes"] is None  # N/A unified to null
    # one spelling per fingerprint; ties go to the one in mixed case
    assert {r["city"] for r in rows} == {"New York", "Boston", "Bostn"}
    assert rows[5]["date"] is None  # padded ragged row


def test_every_change_is_a_row_issue(cleaned: tuple[pa.Table, pa.Table]) -> None:
    _, issues = cleaned
    assert issues.schema == ROW_ISSUE_SCHEMA
    got = {(r["row"], r["column"], r["code"], r["action"]) for r in issues.to_pylist()}
    assert (2, "name", "leading_trailing_whitespace", "trimmed") in got
    assert (2, "amount", "numeric_formatting", "converted") in got
    assert (4, "amount", "numeric_formatting", "converted") in got
    assert (4, "notes", "null_sentinel", "set_null") in got
    assert (3, "city", "case_noise", "merged") in got
    assert (4, "city", "case_noise", "merged") in got
    assert (6, None, "duplicate_row", "dropped") in got
    assert (7, None, "blank_row", "dropped") in got
    assert (8, None, "ragged_row", "truncated") in got
    assert (9, None, "ragged_row", "padded") in got
    assert (2, "notes", "formula_injection_risk", "flagged") in got
    assert (4, "date", "mixed_date_formats", "flagged") in got
    merged = [r for r in issues.to_pylist() if r["action"] == "merged"]
    assert {(r["old_value"], r["new_value"]) for r in merged} == {
        ("new york", "New York"),
        ("NEW YORK", "New York"),
    }


def test_routing_counts(analysis: Analysis, cleaned: tuple[pa.Table, pa.Table]) -> None:
    routing = {r.action: r for r in analysis.profile.routing}
    assert routing["drop_duplicate_rows"].changed == 1
    assert routing["drop_blank_rows"].changed == 1
    assert routing["drop_empty_columns"].columns == ("empty",)
    assert routing["convert_numbers"].changed == 2
    assert routing["merge_spelling_clusters"].changed == 2
    assert not routing["impute_missing_values"].applied
    assert analysis.profile.shape.rows_out == cleaned[0].num_rows == 6


def test_scores_are_percentages(analysis: Analysis) -> None:
    scores = analysis.profile.scores
    for value in (scores.completeness, scores.validity, scores.uniqueness, scores.consistency):
        assert 0 <= value <= 100
    assert scores.uniqueness == 87.5  # 1 duplicate of 8 rows


def test_iter_cleaned_twice_gives_the_same(analysis: Analysis) -> None:
    first = [c.batch.to_pylist() for c in analysis.iter_cleaned()]
    second = [c.batch.to_pylist() for c in analysis.iter_cleaned()]
    assert first == second


def test_long_record_restarts_with_a_larger_block(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text('id,text\n1,"' + "x" * 300_000 + '"\n2,short\n')
    analysis = analyze_input(path, options=EngineOptions(block_size=64 << 10))
    rows = [r for c in analysis.iter_cleaned() for r in c.batch.to_pylist()]
    assert [len(r["text"]) for r in rows] == [300_000, 5]


def test_invalid_utf8_after_the_sample_is_read_as_cp1252_and_the_utf8_stays_utf8(
    tmp_path: Path,
) -> None:
    path = tmp_path / "late.csv"
    body = "".join(f"{i},José\n" for i in range(120_000))
    path.write_bytes(b"id,name\n" + body.encode() + b"999,caf\xe9\n")
    analysis = analyze_input(path)
    assert analysis.profile.source.encoding == "utf-8+cp1252"
    rows = [r for c in analysis.iter_cleaned() for r in c.batch.to_pylist()]
    assert rows[-1] == {"id": "999", "name": "café"}
    # read wholly as cp1252, each of these was "JosÃ©"
    assert {r["name"] for r in rows[:-1]} == {"José"}


def test_invalid_utf8_after_an_ascii_sample_reads_the_file_as_cp1252(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    body = "".join(f"{i},Jose\n" for i in range(120_000))
    path.write_bytes(b"id,name\n" + body.encode() + b"999,caf\xe9 \x96 cr\xe8me\n")
    analysis = analyze_input(path)
    assert analysis.profile.source.encoding == "cp1252"
    rows = [r for c in analysis.iter_cleaned() for r in c.batch.to_pylist()]
    assert rows[-1] == {"id": "999", "name": "café – crème"}


def test_progress_reaches_the_file_size(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(50_000)))
    calls: list[tuple[int, int]] = []
    analyze_input(
        path,
        progress=lambda done, total: calls.append((done, total)),
        options=EngineOptions(block_size=64 << 10, profile_cells=0),  # each chunk on its own
    )
    assert len(calls) > 3
    assert calls[-1] == (path.stat().st_size, path.stat().st_size)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_profile_takes_pass_two_counts_after_a_full_clean(tmp_path: Path) -> None:
    path = tmp_path / "merge_dups.csv"
    rows = [f"{i},Boston" for i in range(1, 30)] + ["99,New York", "99,new york", "99,NEW YORK"]
    path.write_text("id,city\n" + "\n".join(rows) + "\n")
    analysis = analyze_input(path, options=EngineOptions(duplicates="drop"))
    assert analysis.profile.shape.rows_out == 32  # pass 1: no exact duplicate yet
    kept = sum(c.batch.num_rows for c in analysis.iter_cleaned())
    profile = analysis.profile
    assert kept == profile.shape.rows_out == 30  # identical once the spellings are merged
    dups = [f for f in profile.findings if f.code == "duplicate_rows"]
    assert [(d.count, d.sample_rows) for d in dups] == [(2, (32, 33))]
    routing = {r.action: r for r in profile.routing}["drop_duplicate_rows"]
    assert (routing.before, routing.after, routing.changed) == (32, 30, 2)


def test_top_values_break_ties_by_value_past_the_distinct_cap(tmp_path: Path) -> None:
    """Equal counts are ordered by value, also for a column that left exact counting: the
    report and the downloads are the same bytes on every run."""
    path = tmp_path / "ties.csv"
    labels = [f"v{n:02d}" for n in range(40, 0, -1)]  # descending order of first appearance
    path.write_text("id,label\n" + "".join(f"{i},{v}\n" for i, v in enumerate(labels * 2)))
    options = EngineOptions(block_size=64 << 10, distinct_cap=8, top_values=3)
    for _ in range(3):
        profile = analyze_input(path, options=options).profile
        label = next(c for c in profile.columns if c.name == "label")
        assert label.top_values == (("v01", 2), ("v02", 2), ("v03", 2))


def test_result_does_not_depend_on_the_block_size(tmp_path: Path) -> None:
    """The quantile sample (and so the outlier fences) takes numbers in row order, plain and
    formatted alike, and the extreme values keep the earliest rows on ties, so chunk
    boundaries change nothing, nor does the number of chunks pass 1 profiles at once."""
    lines = ["id,amount,city"]
    for i in range(20_000):
        amount = f"${(i * 37) % 9_000:,}.50" if i % 3 == 0 else str((i * 53) % 700)
        if i % 997 == 0:
            amount = "25000000"  # an outlier
        lines.append(f'{i},"{amount}",{" Oslo" if i % 5 else "Bergen"}')
    path = tmp_path / "numbers.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def run(block_size: int, profile_cells: int = 0) -> tuple[object, pa.Table]:
        options = EngineOptions(
            block_size=block_size, profile_cells=profile_cells, quantile_sample=500
        )
        analysis = analyze_input(path, options=options)
        issues = pa.concat_tables(chunk.issues for chunk in analysis.iter_cleaned())
        outliers = [f for f in analysis.profile.findings if f.code == "outliers"]
        return [(f.count, f.sample_rows, f.details) for f in outliers], issues

    small_outliers, small_issues = run(16 << 10)
    large_outliers, large_issues = run(1 << 20)
    assert len(small_outliers) == 1
    assert small_outliers[0][1][:3] == (2, 999, 1996)  # rows of 25000000, earliest first
    assert small_outliers == large_outliers
    assert small_issues.num_rows > 0
    assert small_issues.equals(large_issues)
    for profile_cells in (3_000, 20_000):  # pass 1 profiling several chunks at once
        outliers, issues = run(16 << 10, profile_cells)
        assert outliers == small_outliers
        assert issues.equals(small_issues)


def test_wide_table_issues_span_several_queries(tmp_path: Path) -> None:
    """More checks with hits than one issue query takes (BRANCHES_PER_QUERY): every issue is
    still there once, ordered by row."""
    width, height = 150, 40
    lines = [",".join(f"col{c}" for c in range(width))]
    padded = set()
    for r in range(height):
        cells = []
        for c in range(width):
            if (r + c) % 7 == 0:
                cells.append(f" v{r}")
                padded.add((r + 2, f"col{c}"))
            else:
                cells.append(f"v{r}")
        lines.append(",".join(cells))
    path = tmp_path / "wide.csv"
    path.write_text("\n".join(lines) + "\n")
    analysis = analyze_input(path)
    issues = pa.concat_tables(chunk.issues for chunk in analysis.iter_cleaned()).to_pylist()
    trimmed = [
        (i["row"], i["column"]) for i in issues if i["code"] == "leading_trailing_whitespace"
    ]
    assert len({column for _, column in trimmed}) > cleaning.BRANCHES_PER_QUERY
    assert sorted(trimmed) == sorted(padded)
    assert len(trimmed) == len(padded)
    rows = [i["row"] for i in issues]
    assert rows == sorted(rows)


def test_a_truncated_record_keeps_its_whole_text_in_the_trail(tmp_path: Path) -> None:
    # the cells cut off lie past the first 500 characters: the trail must still hold them
    long_cut = "1," + "y" * 700 + ",cut-off cell"
    long_padded = "z" * 800
    path = tmp_path / "ragged.csv"
    path.write_text(f"a,b\n{long_cut}\n{long_padded}\n3,4\n", encoding="utf-8")
    issues = [
        issue
        for chunk in analyze_input(path).iter_cleaned()
        for issue in chunk.issues.to_pylist()
        if issue["code"] == "ragged_row"
    ]
    assert [(i["row"], i["action"]) for i in issues] == [(2, "truncated"), (3, "padded")]
    assert issues[0]["old_value"] == long_cut
    assert issues[1]["old_value"] == long_padded[:500]  # nothing of it was cut off
