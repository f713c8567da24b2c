from __future__ import annotations

import base64
import csv
import hashlib
import io

import pyarrow as pa
import pytest

from domain.artifacts import derive_download_id
from domain.downloads import csv_downloads
from domain.downloads.csv_downloads import generate_csv_download
from tests.unit.downloads.fakes import HEADER, FakeAnalysis, StagedSinkDouble


def _expected_cell(value: str | None) -> str:
    if value is None:
        return ""
    if value[:1] in "=+-@" and value not in ("-12.5",):
        return "'" + value
    return value


def _batches(rows: int, chunk_rows: int = 100) -> list[pa.RecordBatch]:
    return [c.batch for c in FakeAnalysis(rows, chunk_rows).iter_cleaned()]


def test_inline_csv_reparses_to_the_cleaned_data_with_formulas_neutralised() -> None:
    batches = _batches(250)
    entry = generate_csv_download("an-1", "Sales Data.csv", HEADER, batches)

    assert set(entry) == {"download_id", "file_name", "format", "size_bytes", "content_base64"}
    assert entry["file_name"] == "cleaned_sales_data.csv"
    assert entry["format"] == "csv"
    assert entry["download_id"] == derive_download_id("an-1", "cleaned_csv")
    content = base64.b64decode(entry["content_base64"])
    assert entry["size_bytes"] == len(content)

    parsed = list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))
    assert tuple(parsed[0]) == HEADER
    expected = [
        [_expected_cell(v) for v in row]
        for batch in batches
        for row in zip(*batch.to_pydict().values(), strict=True)
    ]
    assert parsed[1:] == expected
    assert len(parsed) == 251


def test_null_and_empty_string_stay_distinguishable() -> None:
    batch = pa.RecordBatch.from_pydict(
        {"a": [None, ""], "b": ["x\ny", "comma,here"]},
        schema=pa.schema([("a", pa.string()), ("b", pa.string())]),
    )
    entry = generate_csv_download("an-1", "t.csv", ("a", "b"), [batch])
    text = base64.b64decode(entry["content_base64"]).decode()
    assert text.splitlines()[1].startswith(',"x')
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[1:] == [["", "x\ny"], ["", "comma,here"]]


def test_no_batches_still_writes_the_header() -> None:
    entry = generate_csv_download("an-1", "t.csv", HEADER, [])
    text = base64.b64decode(entry["content_base64"]).decode()
    assert list(csv.reader(io.StringIO(text))) == [list(HEADER)]


def test_batch_with_other_columns_is_refused() -> None:
    batch = pa.RecordBatch.from_pydict({"x": ["1"]})
    with pytest.raises(ValueError, match="differ from header"):
        generate_csv_download("an-1", "t.csv", ("a",), [batch])


def test_staged_entry_has_metadata_and_no_base64() -> None:
    sink = StagedSinkDouble()
    entry = generate_csv_download(
        "an-1", "Sales Data.csv", HEADER, _batches(10), inline=False, sink=sink
    )
    data = sink.files["cleaned_sales_data.csv"]
    assert entry == {
        "download_id": derive_download_id("an-1", "cleaned_csv"),
        "file_name": "cleaned_sales_data.csv",
        "format": "csv",
        "size_bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "s3_path": "s3://bucket/dev/clean-my-data/an-1/cleaned_sales_data.csv",
        "status": "pending",
    }


def test_staged_without_sink_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="needs a sink"):
        generate_csv_download("an-1", "t.csv", HEADER, [], inline=False)


def test_batches_rendered_in_slices_give_the_same_csv(monkeypatch: pytest.MonkeyPatch) -> None:
    batches = _batches(250)
    whole = base64.b64decode(
        generate_csv_download("an-1", "s.csv", HEADER, batches)["content_base64"]
    )
    monkeypatch.setattr(csv_downloads, "RENDER_ROWS", 7)
    sliced = base64.b64decode(
        generate_csv_download("an-1", "s.csv", HEADER, batches)["content_base64"]
    )
    assert sliced == whole
    assert whole.count(b'"order_id"') == 1
