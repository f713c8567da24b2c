"""The cleaned CSV quotes only the fields that need it, and reads back to the same cells."""

from __future__ import annotations

import base64
import csv
import io

import pyarrow as pa

from domain.downloads.csv_downloads import generate_csv_download

HEADER = ("name", "note")
VALUES = ["plain", "", None, "a,b", 'say "hi"', "line\nbreak", "cr\rhere", " padded ", "déjà"]


def _csv() -> bytes:
    batch = pa.record_batch(
        {"name": pa.array(["x"] * len(VALUES)), "note": pa.array(VALUES, pa.string())}
    )
    entry = generate_csv_download("an-1", "s.csv", HEADER, [batch])
    return base64.b64decode(entry["content_base64"])


def test_plain_fields_are_not_quoted() -> None:
    data = _csv()
    assert data.startswith(b"name,note\nx,plain\n")
    assert b"\nx, padded \n" in data
    assert b'"x"' not in data


def test_fields_that_need_it_are_quoted_and_read_back_the_same() -> None:
    data = _csv()
    assert b'x,"a,b"\n' in data
    assert b'x,"say ""hi"""\n' in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert rows[0] == list(HEADER)
    assert [row[1] for row in rows[1:]] == ["" if v is None else v for v in VALUES]


def test_an_empty_string_stays_distinct_from_null() -> None:
    lines = _csv().split(b"\n")
    assert lines[2] == b'x,""'  # the empty string
    assert lines[3] == b"x,"  # null
