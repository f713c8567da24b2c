"""Write the committed hostile-input files (deterministic). Run once after editing:

.venv/bin/python -m tests.hostile.make_corpus
"""

from __future__ import annotations

import codecs
import gzip
import io
import random
import zipfile

from tests.hostile.cases import FILES

TABLE = "id,name,city\n1,Ann,Köln\n2,Bob,Zürich\n"


def _xlsx_bytes() -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["ID", "Name", "Amount"])
    sheet.append([1, " Ann ", 12.5])
    sheet.append([2, "=1+2", None])
    sheet.append([2, "=1+2", None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def corpus() -> dict[str, bytes]:
    rng = random.Random(6)
    return {
        "empty.csv": b"",
        "only_newlines.csv": b"\n\n\n\r\n",
        "only_whitespace_lines.csv": b"   \n\t\n  \n",
        "random_binary.bin": bytes(rng.randrange(256) for _ in range(4096)),
        "nul_bytes.csv": b"id,name\n1,A\x00nn\n2,Bob\n",
        "png_image.csv": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64),
        "gzip_data.csv": gzip.compress(TABLE.encode() * 50, mtime=0),
        "control_characters.csv": b"a,b\n" + b"\x01\x02\x03\x04\x05\x06\x07\x08" * 20 + b"\n",
        "json_document.csv": b'{"id": 1, "name": "Ann"}\n',
        "html_page.csv": b"<html><body><p>hello</p></body></html>\n",
        "blank_first_line.csv": b"\nid,name\n1,Ann\n",
        "only_delimiters.csv": b",,,\n,,,\n",
        "legacy_excel.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512),
        "zip_not_workbook.zip": _zip({"readme.txt": b"hello"}),
        "xlsx_junk_zip.xlsx": _zip({"junk.bin": bytes(rng.randrange(256) for _ in range(256))}),
        "truncated_zip.xlsx": b"PK\x03\x04" + bytes(rng.randrange(256) for _ in range(100)),
        "invalid_utf8.csv": b"id,name\n1,caf\xe9\n2,\xff\xfe\xfd\n3,ok\n",
        "latin1.csv": "id;name\n1;Müller\n2;Straße\n".encode("latin-1"),
        "mixed_newlines.csv": b"id,name\r\n1,Ann\n2,Bob\r3,Cleo\r\n",
        "cr_only_newlines.csv": b"id,name\r1,Ann\r2,Bob\r",
        "unclosed_quote.csv": b'id,name\n1,"Ann\n2,Bob\n3,Cleo\n',
        "unclosed_quote_in_header.csv": b'"id,name\n1,Ann\n',
        "stray_quotes.csv": b'id,name\n1,An"n\n2,"Bob" Smith\n3,"C""leo"\n',
        "nested_quotes.csv": b'id,text\n1,""""""\n2,"a ""quoted"" word"\n',
        "formula_injection.csv": (
            b"id,cell\n1,=cmd|' /C calc'!A0\n2,+SUM(A1:A2)\n3,-2+3\n4,@SUM(1)\n"
            b'5,"=HYPERLINK(""http://x"")"\n6,-5\n'
        ),
        "unicode_everywhere.csv": (
            "名前,ville,עיר,emoji\n山田,Zürich,תל אביב,😀\nе́,Ǆ,ﷺ,👩‍👩‍👧\n".encode()
        ),
        "long_unicode_header.csv": ("é" * 2000 + ",b\n1,2\n").encode(),
        "bom_utf8.csv": codecs.BOM_UTF8 + TABLE.encode(),
        "bom_utf16le.csv": codecs.BOM_UTF16_LE + TABLE.encode("utf-16-le"),
        "bom_utf16be.csv": codecs.BOM_UTF16_BE + TABLE.encode("utf-16-be"),
        "bom_utf32.csv": TABLE.encode("utf-32"),
        "only_header.csv": b"id,name,city\n",
        "header_without_newline.csv": b"id,name,city",
        "duplicate_headers.csv": b"id,id,ID,name,name\n1,2,3,a,b\n",
        "partly_blank_headers.csv": b"id,,name,\n1,x,Ann,y\n",
        "ragged_everywhere.csv": b"a,b,c\n1\n1,2\n1,2,3,4,5\n\n,,\n1,2,3\n",
        "single_column.csv": b"name\nAnn\nBob\n\nAnn\n",
        "decimal_commas.csv": b"id;amount\n1;1,5\n2;2,25\n3;1.000,50\n",
        "all_null_sentinels.csv": b"a,b\nNA,null\n-,?\nN/A,\\N\n",
        "tiny_workbook.xlsx": _xlsx_bytes(),
        "tab_separated_with_spaces.tsv": b"id\tfull name\n1\t Ann Lee \n2\tBob  \n",
    }


def main() -> None:
    FILES.mkdir(exist_ok=True)
    for name, data in corpus().items():
        (FILES / name).write_bytes(data)


if __name__ == "__main__":
    main()
