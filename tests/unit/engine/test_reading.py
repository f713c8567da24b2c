"""Sniffing and streaming: encodings, delimiters, quoted line breaks, record numbers."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from domain.errors import InputError
from domain.reading import read_chunks, sniff_source, stream
from domain.reading.chunks import group_chunks

TABLE = "name;city\nJosé;Köln\nAnn;Zürich\n"


@pytest.mark.parametrize(
    ("encoding", "prefix", "expected"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", b"\xef\xbb\xbf", "utf-8-sig"),
        ("utf-16", b"", "utf-16"),
        ("cp1252", b"", "cp1252"),
    ],
)
def test_encodings_are_detected_and_decoded(
    tmp_path: Path, encoding: str, prefix: bytes, expected: str
) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(prefix + TABLE.encode(encoding))
    spec = sniff_source(path)
    assert spec.encoding == expected
    assert spec.header == ("name", "city")
    rows = [r for c in read_chunks(spec, 1 << 16) for r in c.table.to_pylist()]
    assert rows == [{"c0": "José", "c1": "Köln"}, {"c0": "Ann", "c1": "Zürich"}]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "t.csv"
    lines = [delimiter.join(["a", "b", "c"])] + [delimiter.join(["1", "x, y", "3"])] * 3
    if delimiter == ",":
        lines = ["a,b,c"] + ['1,"x, y",3'] * 3
    path.write_text("\n".join(lines) + "\n")
    spec = sniff_source(path)
    assert spec.delimiter == delimiter
    first = next(iter(read_chunks(spec, 1 << 16))).table.to_pylist()[0]
    assert first == {"c0": "1", "c1": "x, y", "c2": "3"}


def test_record_numbers_count_blank_and_ragged_records(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('a,b\n1,2\n\n3\n"multi\nline",4\n5,6,7\n8,9\n')
    spec = sniff_source(path)
    chunks = list(read_chunks(spec, 1 << 16))
    rows = [int(r) for c in chunks for r in c.rows]
    values = [r for c in chunks for r in c.table.to_pylist()]
    assert rows == [2, 3, 4, 5, 6, 7]
    assert values[2] == {"c0": "3", "c1": ""}  # padded
    assert values[3] == {"c0": "multi\nline", "c1": "4"}
    assert values[4] == {"c0": "5", "c1": "6"}  # truncated
    ragged = [(r.row, r.cells) for c in chunks for r in c.ragged]
    assert ragged == [(4, 1), (6, 3)]


def test_ragged_rows_across_many_small_blocks(tmp_path: Path) -> None:
    lines = ["a,b,c"] + [f"{i},{i}" if i % 7 == 0 else f"{i},{i},{i}" for i in range(2, 400)]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    chunks = list(read_chunks(sniff_source(path), 256))
    assert len(chunks) > 5
    for chunk in chunks:  # the first cell holds the record number
        assert chunk.table.column(0).to_pylist() == [str(r) for r in chunk.rows]
    assert [int(r) for c in chunks for r in c.rows] == list(range(2, 400))


@pytest.mark.parametrize("min_cells", [0, 100, 250])
def test_grouped_chunks_keep_records_ragged_rows_and_progress(
    tmp_path: Path, min_cells: int
) -> None:
    lines = ["a,b,c"] + [f"{i},{i}" if i % 7 == 0 else f"{i},{i},{i}" for i in range(2, 400)]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    spec = sniff_source(path)
    chunks = list(read_chunks(spec, 256))
    groups = list(group_chunks(read_chunks(spec, 256), min_cells))
    bounds = list(itertools.accumulate(len(c.rows) for c in chunks))  # rows after each chunk
    first = 0
    for group in groups[:-1]:  # the shortest run of whole chunks holding min_cells cells
        end = first + len(group.rows)
        assert end in bounds
        assert len(group.rows) * 3 >= min_cells
        inside = [b for b in bounds if first < b < end]
        if inside:
            assert (inside[-1] - first) * 3 < min_cells
        first = end
    assert first + len(groups[-1].rows) == bounds[-1]
    if min_cells == 0:
        assert len(groups) == len(chunks)
    else:
        assert len(groups) < len(chunks)
    for group in groups:  # the first cell still holds the record number
        assert group.table.column(0).to_pylist() == [str(r) for r in group.rows]
    assert [int(r) for g in groups for r in g.rows] == list(range(2, 400))
    assert [r.row for g in groups for r in g.ragged] == [r.row for c in chunks for r in c.ragged]
    by_end = dict(zip(bounds, (c.bytes_done for c in chunks), strict=True))
    ends = itertools.accumulate(len(g.rows) for g in groups)
    assert [g.bytes_done for g in groups] == [by_end[e] for e in ends]


def test_many_ragged_rows_in_one_block_are_placed_by_one_gather(tmp_path: Path) -> None:
    """Past INTERLEAVE_SLICES_MAX repaired records in a chunk, the chunk is one contiguous
    table in record order (thousands of one-row slices made every later step crawl)."""
    lines = ["a,b,c"]
    for i in range(2, 3_002):
        lines.append(
            f"{i},{i}" if i % 3 == 0 else f"{i},{i},{i},x" if i % 3 == 1 else f"{i},{i},{i}"
        )
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    chunks = list(read_chunks(sniff_source(path), 1 << 20))
    assert sum(len(chunk.ragged) for chunk in chunks) == 2_000
    assert max(len(chunk.ragged) for chunk in chunks) > stream.INTERLEAVE_SLICES_MAX
    for chunk in chunks:
        assert chunk.table.column(0).to_pylist() == [str(r) for r in chunk.rows]
        if len(chunk.ragged) > stream.INTERLEAVE_SLICES_MAX:
            assert chunk.table.column(0).num_chunks == 1
    assert [int(r) for chunk in chunks for r in chunk.rows] == list(range(2, 3_002))
    values = [row for chunk in chunks for row in chunk.table.to_pylist()]
    assert values[1] == {"c0": "3", "c1": "3", "c2": ""}  # padded
    assert values[2] == {"c0": "4", "c1": "4", "c2": "4"}  # truncated


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\n\n  \n", "blank"),
        (b"a,b\x00,c\n", "binary"),
        (b'{"a": 1}\n', "not tabular"),
        (b"PK\x03\x04junk", "zip"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        sniff_source(path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
