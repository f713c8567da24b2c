"""The hostile-input corpus: every file under tests/hostile/files with what analysing it must
give, plus the large cases that are generated on the fly instead of committed.

``expect``: "error" (a one-line InputError whose message contains ``message``), "report" (a
Profile and a complete cleaning pass) or "either" (one of the two, never anything else).
Reusable by other test layers (e.g. the CLI: non-zero exit and nothing staged for "error").
"""

from __future__ import annotations

import codecs
import os
import random
import shutil
import zipfile
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


def _hundred_mb_quoted_cell(path: Path) -> None:
    with path.open("wb") as handle:
        handle.write(b'id,text\n1,"')
        for _ in range(100):
            handle.write(b"x,y\n" * (1 << 18))
        handle.write(b'"\n2,short\n')


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


_XLSX_FIXED_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="xl/workbook.xml" Type="http://schemas.openxmlformats'
        '.org/officeDocument/2006/relationships/officeDocument"/></Relationships>'
    ),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="worksheets/sheet1.xml" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
        '<Relationship Id="rId2" Target="sharedStrings.xml" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>'
        "</Relationships>"
    ),
}
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_BUILD_CHUNK = 16 << 20


def _write_repeated(part: object, unit: bytes, total: int) -> None:
    block = unit * max(1, _BUILD_CHUNK // len(unit))
    written = 0
    while written < total:
        piece = block[: min(len(block), total - written)]
        part.write(piece)  # type: ignore[attr-defined]
        written += len(piece)


def write_xlsx_parts(
    path: Path,
    *,
    shared_string_bytes: int = 5,
    random_text: bool = False,
    sheet_padding_bytes: int = 0,
    sheet_filler_rows: int = 0,
) -> None:
    """A minimal workbook written part by part (never whole in memory): header ``id,text``,
    one data row whose text cell is a shared string of ``shared_string_bytes`` bytes,
    ``sheet_padding_bytes`` of whitespace inside the sheet data, then ``sheet_filler_rows``
    identical rows."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, text in _XLSX_FIXED_PARTS.items():
            archive.writestr(name, text)
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(f'<sst xmlns="{_MAIN_NS}" count="1" uniqueCount="1"><si><t>'.encode())
            if random_text:
                rng = random.Random(7)
                letters = bytes(rng.choice(b"abcdefghij ") for _ in range(1 << 16))
                _write_repeated(part, letters, shared_string_bytes)
            else:
                _write_repeated(part, b"x", shared_string_bytes)
            part.write(b"</t></si></sst>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(
                f'<worksheet xmlns="{_MAIN_NS}"><sheetData>'
                '<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c>'
                '<c r="B1" t="inlineStr"><is><t>text</t></is></c></row>'
                '<row r="2"><c r="A2"><v>1</v></c><c r="B2" t="s"><v>0</v></c></row>'.encode()
            )
            _write_repeated(part, b" ", sheet_padding_bytes)
            _write_repeated(part, b'<row><c t="n"><v>1</v></c></row>', 32 * sheet_filler_rows)
            part.write(b"</sheetData></worksheet>")


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _device(target: str) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        path.symlink_to(target)

    return build


def _workbook_named_csv(path: Path) -> None:
    shutil.copy(FILES / "tiny_workbook.xlsx", path)


def _table(path: Path) -> None:
    path.write_text("id,name\n1,Ann\n")


def _xml_non_characters(path: Path) -> None:
    """Cells an XML file cannot hold as they are (U+FFFE, U+FFFF) and text Excel would read as
    an escape (``_x0041_``): the workbook must stay well-formed and read back as written."""
    path.write_text("id,name,note\n1,a\uffffb,x_x0041_y\n2,\ufffe,plain\n3,ok,<&>\n")


def _shared_string_bomb(path: Path) -> None:
    write_xlsx_parts(path, shared_string_bytes=64 << 20)


def _whitespace_bomb(path: Path) -> None:
    write_xlsx_parts(path, sheet_padding_bytes=256 << 20)


def _markup_bomb(path: Path) -> None:
    write_xlsx_parts(path, sheet_filler_rows=3_000_000)


CONTROL_NAME = 'evil\n{"event":"forged"}\x1b[31m\u202egnp.csv'

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
    HostileCase("huge_quoted_cell.csv", "error", "cell limit", build=_huge_quoted_cell),
    HostileCase("hundred_mb_quoted_cell.csv", "error", "cell limit", build=_hundred_mb_quoted_cell),
    HostileCase("ten_thousand_columns.csv", "report", build=_ten_thousand_columns),
    HostileCase("invalid_utf8_after_sample.csv", "report", build=_invalid_utf8_after_sample),
    HostileCase("ragged_5000_rows.csv", "report", build=_many_columns_ragged),
    HostileCase(
        "ragged_invalid_utf8_after_sample.csv", "report", build=_ragged_invalid_utf8_after_sample
    ),
    HostileCase("fifo_without_writer.csv", "error", "not a regular file", build=_fifo),
    HostileCase("dev_zero.csv", "error", "not a regular file", build=_device("/dev/zero")),
    HostileCase("dev_urandom.csv", "error", "not a regular file", build=_device("/dev/urandom")),
    HostileCase("workbook_named.csv", "report", build=_workbook_named_csv),
    HostileCase(CONTROL_NAME, "report", build=_table),
    HostileCase("xml_non_characters.csv", "report", build=_xml_non_characters),
    HostileCase("shared_string_bomb.xlsx", "error", "longer than", build=_shared_string_bomb),
    HostileCase("whitespace_bomb.xlsx", "error", "whitespace run", build=_whitespace_bomb),
    HostileCase("markup_bomb.xlsx", "error", "decompresses", build=_markup_bomb),
)
