"""Encodings other than UTF-8: a detector instead of a cp1252 guess, UTF-16 without a byte
order mark, and the detected encoding with its confidence in the report."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.engine import analyze_input
from domain.reading import read_chunks, sniff_source
from domain.reading.encodings import (
    incremental_decoder,
    is_mixed_utf8,
    non_ascii_bytes,
    split_utf8,
)

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


def test_a_utf8_file_with_a_few_cp1252_rows_keeps_both(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    utf8 = "".join(f"{i},Zürich,Malmö\n" for i in range(1, 200))
    path.write_bytes(b"id,city,other\n" + utf8.encode() + "200,Zürich,café – ok\n".encode("cp1252"))
    assert sniff_source(path).encoding == "utf-8+cp1252"
    rows = _rows(path)
    assert {tuple(r[1:]) for r in rows[:-1]} == {("Zürich", "Malmö")}
    assert rows[-1] == ["200", "Zürich", "café – ok"]


def test_the_legacy_part_of_a_mixed_file_is_judged_on_its_own_bytes(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    utf8 = "".join(f"{i},Zürich,Malmö\n" for i in range(1, 100))
    tail = "".join(f"{i},Москва,Московская\n" for i in range(100, 140))
    path.write_bytes(b"id,city,region\n" + utf8.encode() + tail.encode("cp1251"))
    assert sniff_source(path).encoding == "utf-8+cp1251"
    rows = _rows(path)
    assert rows[0][1:] == ["Zürich", "Malmö"]
    assert rows[-1][1:] == ["Москва", "Московская"]


@pytest.mark.parametrize("step", [1, 2, 3, 7])
def test_the_mixed_decoder_keeps_utf8_sequences_split_between_reads(step: int) -> None:
    data = "€ Köln 日本 ".encode() + b"caf\xe9 \x81\n"
    decoder = incremental_decoder("utf-8+cp1252")
    text = "".join(decoder.decode(data[i : i + step]) for i in range(0, len(data), step))
    text += decoder.decode(b"", final=True)
    assert text == "€ Köln 日本 café \x81\n"  # 0x81, undefined in cp1252, as in Latin-1


def test_legacy_text_with_a_chance_utf8_pair_is_not_mixed() -> None:
    # cp1252 text may form a valid UTF-8 sequence by chance: "ß°" is DF B0 (U+07F0)
    legacy = ("Straße, Größe, Übermaß, Fußgänger, Bäcker, " * 40 + "Fuß°").encode("cp1252")
    _, valid = split_utf8(legacy)
    non_ascii = non_ascii_bytes(legacy)
    assert valid > 0
    assert not is_mixed_utf8(non_ascii, valid)
