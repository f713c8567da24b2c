"""Encodings other than UTF-8: a detector instead of a cp1252 guess, UTF-16 without a byte
order mark, and the detected encoding with its confidence in the report."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.engine import analyze_input
from domain.reading import read_chunks, sniff_source

CYRILLIC = (
    "город,население,область\n"
    "Москва,12600000,Московская\n"
    "Санкт-Петербург,5380000,Ленинградская\n"
    "Новосибирск,1620000,Новосибирская\n"
    "Екатеринбург,1490000,Свердловская\n"
)


def _rows(path: Path) -> list[list[str]]:
    spec = sniff_source(path)
    return [list(r.values()) for c in read_chunks(spec, 1 << 16) for r in c.table.to_pylist()]


def test_a_cp1251_file_reads_as_cyrillic(tmp_path: Path) -> None:
    path = tmp_path / "cities.csv"
    path.write_bytes(CYRILLIC.encode("cp1251"))
    spec = sniff_source(path)
    assert spec.encoding == "cp1251"
    assert spec.header == ("город", "население", "область")
    assert 0.5 < spec.encoding_confidence <= 1.0
    assert _rows(path)[0] == ["Москва", "12600000", "Московская"]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("text", [CYRILLIC, "name,city\nZoë,Malmö\nJosé,Köln\nAnn,Oslo\n"])
def test_utf16_without_a_byte_order_mark_is_text(tmp_path: Path, encoding: str, text: str) -> None:
    path = tmp_path / "u16.csv"
    path.write_bytes(text.encode(encoding))
    spec = sniff_source(path)
    assert spec.encoding == encoding
    lines = [line.split(",") for line in text.splitlines()]
    assert spec.header == tuple(lines[0])
    assert _rows(path) == lines[1:]


def test_western_text_stays_cp1252(tmp_path: Path) -> None:
    path = tmp_path / "west.csv"
    path.write_bytes("name,city\nZoë,Malmö\nJosé,São Paulo\nFrançois,Zürich\n".encode("cp1252"))
    assert sniff_source(path).encoding == "cp1252"


def test_cp1251_after_an_ascii_first_mebibyte(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    head = "".join(f"{i},Moscow,Moskovskaya\n" for i in range(60_000))
    tail = "".join(f"{i},Москва,Московская\n" for i in range(60_000, 60_200))
    path.write_bytes(b"id,city,region\n" + head.encode() + tail.encode("cp1251"))
    analysis = analyze_input(path)
    assert analysis.profile.source.encoding == "cp1251"
    last = [r for c in analysis.iter_cleaned() for r in c.batch.to_pylist()][-1]
    assert last == {"id": "60199", "city": "Москва", "region": "Московская"}


def test_report_states_the_encoding_and_its_confidence(tmp_path: Path) -> None:
    from domain.report import RowIssueDigest, build_report_body

    path = tmp_path / "cities.csv"
    path.write_bytes(CYRILLIC.encode("cp1251"))
    body = build_report_body(analyze_input(path).profile, RowIssueDigest())
    source = body["analysisSummary"]["source"]
    assert source["encoding"] == "cp1251"
    assert 0.5 < source["encoding_confidence"] <= 1.0
