"""A single cell is bounded (MAX_CELL_BYTES, 1 MiB): a larger one is refused in one line, in
bounded memory and time, however it is quoted."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest

from domain.engine import analyze_input
from domain.errors import InputError
from domain.reading.limits import MAX_CELL_BYTES


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _consume(path: Path) -> int:
    analysis = analyze_input(path)
    return sum(chunk.batch.num_rows for chunk in analysis.iter_cleaned())


@pytest.mark.parametrize("size_mb", [100, 20])
def test_a_huge_quoted_cell_is_refused_in_bounded_memory(tmp_path: Path, size_mb: int) -> None:
    path = tmp_path / "cell.csv"
    with path.open("wb") as handle:
        handle.write(b'id,text\n1,"')
        for _ in range(size_mb):
            handle.write(b"x,y\n" * (1 << 18))  # delimiters and newlines inside the quotes
        handle.write(b'"\n2,short\n')
    before, started = _peak_rss_mb(), time.monotonic()
    with pytest.raises(InputError, match="longer than the 1 MiB cell limit") as caught:
        _consume(path)
    assert "\n" not in str(caught.value)
    assert time.monotonic() - started < 30
    assert _peak_rss_mb() - before < 400


def test_a_huge_unquoted_line_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "line.csv"
    path.write_bytes(b"id,text\n1," + b"a" * (30 << 20) + b"\n")
    with pytest.raises(InputError, match="cell limit"):
        _consume(path)


def test_a_cell_just_over_the_limit_is_refused_with_its_record(tmp_path: Path) -> None:
    path = tmp_path / "over.csv"
    big = "x" * (MAX_CELL_BYTES + 1)
    path.write_text(f"id,text\n1,a\n2,{big}\n3,b\n")
    with pytest.raises(InputError, match="record 3"):
        _consume(path)


def test_a_cell_at_the_limit_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "at.csv"
    big = "x" * MAX_CELL_BYTES
    path.write_text(f'id,text\n1,"{big}"\n2,b\n')
    assert _consume(path) == 2


def test_wide_records_of_small_cells_are_not_limited(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    width = 3_000
    header = ",".join(f"c{i}" for i in range(width))
    first, second = (",".join(c * 1_000 for _ in range(width)) for c in "vw")  # 3 MB records
    path.write_text(f"{header}\n{first}\n{second}\n")
    assert _consume(path) == 2
