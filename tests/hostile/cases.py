"""The hostile-input corpus: every file under tests/hostile/files with what analysing it must
give, plus the large cases that are generated on the fly instead of committed.

``expect``: "error" (a one-line InputError whose message contains ``message``), "report" (a
Profile and a complete cleaning pass) or "either" (one of the two, never anything else).
Reusable by other test layers (e.g. the CLI: non-zero exit and nothing staged for "error").
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

FILES = Path(__file__).parent / "files"


@dataclass(frozen=True)
class HostileCase:
    name: str  # file name under FILES, or the generated file's name
    expect: str  # "error" | "report" | "either"
    message: str = ""  # for "error": a fragment of the one-line message
    build: Callable[[Path], None] | None = None  # writes a generated case to the given path

    def materialize(self, folder: Path) -> Path:
        """The path to analyse (generated into ``folder`` when the case is built)."""
        if self.build is None:
            return FILES / self.name
        path = folder / self.name
        self.build(path)
        return path


def _huge_single_line(path: Path) -> None:
    path.write_bytes(b"a" * (20 << 20))


def _huge_quoted_cell(path: Path) -> None:
    path.write_bytes(b'id,text\n1,"' + b"x" * (2 << 20) + b'"\n2,short\n')


def _ten_thousand_columns(path: Path) -> None:
    header = ",".join(f"col{i}" for i in range(10_000))
    row = ",".join(str(i % 7) for i in range(10_000))
    path.write_text(f"{header}\n{row}\n{row}\n")


def _invalid_utf8_after_sample(path: Path) -> None:
    line = "id,name\n" + "".join(f"{i},José\n" for i in range(120_000))
    path.write_bytes(line.encode() + b"999,caf\xe9\n")


def _ragged_invalid_utf8_after_sample(path: Path) -> None:
    body = b"".join(b"%d,x\n" % i for i in range(150_000))
    path.write_bytes(b"a,b\n" + body + b"3,caf\xe9,x\n4,5\n")


def _many_columns_ragged(path: Path) -> None:
    lines = ["a,b,c"] + [",".join(["x"] * (i % 6)) for i in range(5_000)]
    path.write_text("\n".join(lines) + "\n")


def _utf16_without_bom(path: Path) -> None:
    path.write_bytes("a,b\n1,2\n".encode("utf-16-le"))


def _bom_only(path: Path) -> None:
    path.write_bytes(codecs.BOM_UTF8)


CASES: tuple[HostileCase, ...] = (
    HostileCase("empty.csv", "error", "empty"),
    HostileCase("only_newlines.csv", "error", "blank"),
    HostileCase("only_whitespace_lines.csv", "error", "blank"),
    HostileCase("random_binary.bin", "error", "binary"),
    HostileCase("nul_bytes.csv", "error", "binary"),
    HostileCase("png_image.csv", "error", "binary"),
    HostileCase("gzip_data.csv", "error", "binary"),
    HostileCase("control_characters.csv", "error", "binary"),
    HostileCase("json_document.csv", "error", "not tabular"),
    HostileCase("html_page.csv", "error", "not tabular"),
    HostileCase("blank_first_line.csv", "error", "no header"),
    HostileCase("only_delimiters.csv", "error", "no header"),
    HostileCase("legacy_excel.xls", "error", "xls"),
    HostileCase("zip_not_workbook.zip", "error", "not an Excel workbook"),
    HostileCase("xlsx_junk_zip.xlsx", "error", "not an Excel workbook"),
    HostileCase("truncated_zip.xlsx", "error", "zip"),
    HostileCase("bom_only.csv", "error", "blank", build=_bom_only),
    HostileCase("utf16_without_bom.csv", "report", build=_utf16_without_bom),
    HostileCase("invalid_utf8.csv", "report"),
    HostileCase("latin1.csv", "report"),
    HostileCase("mixed_newlines.csv", "report"),
    HostileCase("cr_only_newlines.csv", "report"),
    HostileCase("unclosed_quote.csv", "report"),
    HostileCase("unclosed_quote_in_header.csv", "report"),
    HostileCase("stray_quotes.csv", "report"),
    HostileCase("nested_quotes.csv", "report"),
    HostileCase("formula_injection.csv", "report"),
    HostileCase("unicode_everywhere.csv", "report"),
    HostileCase("long_unicode_header.csv", "report"),
    HostileCase("bom_utf8.csv", "report"),
    HostileCase("bom_utf16le.csv", "report"),
    HostileCase("bom_utf16be.csv", "report"),
    HostileCase("bom_utf32.csv", "report"),
    HostileCase("only_header.csv", "report"),
    HostileCase("header_without_newline.csv", "report"),
    HostileCase("duplicate_headers.csv", "report"),
    HostileCase("partly_blank_headers.csv", "report"),
    HostileCase("ragged_everywhere.csv", "report"),
    HostileCase("single_column.csv", "report"),
    HostileCase("decimal_commas.csv", "report"),
    HostileCase("all_null_sentinels.csv", "report"),
    HostileCase("tiny_workbook.xlsx", "report"),
    HostileCase("tab_separated_with_spaces.tsv", "report"),
    HostileCase("huge_single_line.csv", "either", build=_huge_single_line),
    HostileCase("huge_quoted_cell.csv", "report", build=_huge_quoted_cell),
    HostileCase("ten_thousand_columns.csv", "report", build=_ten_thousand_columns),
    HostileCase("invalid_utf8_after_sample.csv", "report", build=_invalid_utf8_after_sample),
    HostileCase("ragged_5000_rows.csv", "report", build=_many_columns_ragged),
    HostileCase(
        "ragged_invalid_utf8_after_sample.csv", "report", build=_ragged_invalid_utf8_after_sample
    ),
)
