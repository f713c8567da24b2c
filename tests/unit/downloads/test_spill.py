from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from domain.downloads.spill import WRITE_BATCH_ROWS, RowIssueSpill
from domain.model import ROW_ISSUE_SCHEMA
from tests.unit.downloads.fakes import make_issues


def test_spill_reads_back_everything_in_order_with_counts_and_preview(tmp_path: Path) -> None:
    spill = RowIssueSpill(tmp_path / "s.arrow", preview_rows=3)
    for start in range(0, 150_000, 25_000):
        spill.append(make_issues(range(start, start + 25_000)))
    spill.append(make_issues(range(0)))
    digest = spill.finish()

    assert digest.total == 150_000
    assert digest.by_code == {"null_sentinel": 75_000, "whitespace": 75_000}
    assert [p["row"] for p in digest.preview] == [2, 3, 4]
    batches = list(spill.iter_batches())
    assert all(b.num_rows <= WRITE_BATCH_ROWS for b in batches)
    rows = pa.Table.from_batches(batches).column("row").to_pylist()
    assert rows == list(range(2, 150_002))
    # re-readable
    assert sum(b.num_rows for b in spill.iter_batches()) == 150_000


def test_spill_refuses_reading_before_finish_and_appending_after(tmp_path: Path) -> None:
    with RowIssueSpill(tmp_path / "s.arrow") as spill:
        spill.append(make_issues(range(2)))
        with pytest.raises(RuntimeError, match="finish"):
            next(spill.iter_batches())
        spill.finish()
        with pytest.raises(RuntimeError, match="already finished"):
            spill.append(make_issues(range(2)))


def test_keep_rows_bounds_the_file_but_not_the_counts_or_the_preview(tmp_path: Path) -> None:
    spill = RowIssueSpill(tmp_path / "s.arrow", preview_rows=3, keep_rows=1_234)
    stored = [spill.append(make_issues(range(s, s + 500))) for s in range(0, 3_000, 500)]
    spill.append(make_issues(range(0)))
    digest = spill.finish()

    assert digest.total == 3_000
    assert digest.by_code == {"null_sentinel": 1_500, "whitespace": 1_500}
    assert [p["row"] for p in digest.preview] == [2, 3, 4]
    assert spill.kept == 1_234
    rows = pa.Table.from_batches(list(spill.iter_batches())).column("row").to_pylist()
    assert rows == list(range(2, 1_236))
    # append hands back every row it was given, in the spill's schema, for the JSON writer
    assert [t.num_rows for t in stored] == [500] * 6
    assert all(t.schema == ROW_ISSUE_SCHEMA for t in stored)
