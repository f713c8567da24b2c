"""The workbook report opened by a spreadsheet application: LibreOffice Calc (Debian's
``libreoffice-calc-nogui``, ``SOFFICE_PATH``, default ``/usr/bin/soffice``) converts every sheet
to CSV, and what it reads is what the analysis wrote: the Cleaned data sheet holds the cleaned
CSV's cells (numbers and dates as numbers and dates), formula-like cells as their text."""

from __future__ import annotations

import base64
import csv
import io
import os
import subprocess
from pathlib import Path

from domain.pipeline import run_analysis

SOFFICE = os.environ.get("SOFFICE_PATH", "/usr/bin/soffice")
# CSV export of every sheet: comma, double quote, UTF-8, cells as stored (not as shown)
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"

INPUT = """id,code,city,amount,ordered,note
1,00123,Zürich,12.50,2024-01-05,=1+2
2,00124, Zürich ,7,2024-01-06,@SUM(A1:A2)
3,00125,ZÜRICH,-3.25,2024-01-07,R&D <team>
4,00126,Basel,1e3,2024-01-08,literal _x0041_ text
5,00127,Bern,N/A,2024-01-09,"two
lines"
6,00128,Basel,0.1,2024-01-10,  padded
"""


def _sheets(workbook: bytes, folder: Path) -> dict[str, list[list[str]]]:
    path = folder / "report.xlsx"
    path.write_bytes(workbook)
    profile = folder / "profile"  # a private LibreOffice profile: no clash with another run
    done = subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            CSV_FILTER,
            "--outdir",
            str(folder),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    sheets = {}
    for sheet in folder.glob("report-*.csv"):
        with sheet.open(encoding="utf-8", newline="") as handle:
            sheets[sheet.stem.removeprefix("report-")] = list(csv.reader(handle))
    return sheets


def _same_cell(shown: str, written: str) -> bool:
    if shown == written:
        return True
    try:
        return float(shown) == float(written)  # a number cell: 12.5 for "12.50"
    except ValueError:
        return False


def test_libreoffice_reads_the_workbook_as_written(tmp_path: Path) -> None:
    source = tmp_path / "orders.csv"
    source.write_text(INPUT, encoding="utf-8")
    result = run_analysis(source, analysis_id="lo-1", inline=True, sink=None, scratch_dir=tmp_path)
    downloads = {d["format"]: d for d in result.final_object["report"]["downloads"]}
    workbook = base64.b64decode(downloads["xlsx"]["content_base64"])
    cleaned_text = base64.b64decode(downloads["csv"]["content_base64"]).decode("utf-8")
    cleaned = list(csv.reader(io.StringIO(cleaned_text, newline="")))

    sheets = _sheets(workbook, tmp_path)

    assert set(sheets) == {"Summary", "Issues", "Row issues", "Column profile", "Cleaned data"}
    shown = sheets["Cleaned data"]
    assert shown[0] == cleaned[0]
    assert len(shown) == len(cleaned)
    for got, want in zip(shown[1:], cleaned[1:], strict=True):
        assert all(_same_cell(g, w) for g, w in zip(got, want, strict=True)), (got, want)
    notes = [row[5] for row in shown[1:]]
    assert "=1+2" in notes  # text, not a formula LibreOffice computed
    assert "@SUM(A1:A2)" in notes
    assert "R&D <team>" in notes
    assert "literal _x0041_ text" in notes
    assert "two\nlines" in notes
    assert [row[1] for row in shown[1:]] == ["00123", "00124", "00125", "00126", "00127", "00128"]
    assert [row[4] for row in shown[1:3]] == ["2024-01-05", "2024-01-06"]

    summary = {row[0]: row[1] for row in sheets["Summary"] if len(row) >= 2}
    assert summary["Analysis id"] == "lo-1"
    assert summary["Input file"] == "orders.csv"
    issues = sheets["Row issues"]
    assert issues[0] == ["Row", "Column", "Code", "Severity", "Old value", "New value", "Action"]
    trimmed = [row for row in issues[1:] if row[2] == "leading_trailing_whitespace"]
    assert [" Zürich ", "Zürich"] in [row[4:6] for row in trimmed]
