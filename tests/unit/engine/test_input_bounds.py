"""Inputs that must be refused in one line, quickly and in bounded memory: anything but a
regular file, and workbooks whose parts decompress to far more than the file."""

from __future__ import annotations

import os
import resource
import shutil
import threading
import time
import zipfile
from pathlib import Path

import pytest

from domain.engine import analyze_input
from domain.errors import InputError
from domain.reading import sniff_source
from domain.reading.limits import MAX_CELL_BYTES, XLSX_MAX_RATIO
from tests.hostile.cases import FILES, write_xlsx_parts

WORKBOOK = FILES / "tiny_workbook.xlsx"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_fifo_without_a_writer_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "data.csv"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []
    worker = threading.Thread(
        target=lambda: outcome.append(_raises(lambda: sniff_source(fifo))), daemon=True
    )
    worker.start()
    worker.join(10)
    if worker.is_alive():  # unblock the reader so the test process can end
        with open(fifo, "wb"):
            pass
        pytest.fail("sniffing a FIFO hung")
    assert isinstance(outcome[0], InputError)
    assert "not a regular file" in str(outcome[0])
    assert "FIFO" in str(outcome[0])


def _raises(call: object) -> BaseException:
    try:
        call()  # type: ignore[operator]
    except BaseException as exc:  # noqa: BLE001 - the test inspects it
        return exc
    raise AssertionError("no error")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_a_device_is_refused_as_not_a_regular_file(tmp_path: Path, device: str) -> None:
    link = tmp_path / "data.csv"
    link.symlink_to(device)
    for path in (Path(device), link):
        with pytest.raises(InputError, match="not a regular file"):
            sniff_source(path)


def test_a_symlink_to_a_regular_file_is_followed(tmp_path: Path) -> None:
    target = tmp_path / "real.csv"
    target.write_text("a,b\n1,2\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert sniff_source(link).header == ("a", "b")


def test_a_workbook_named_csv_is_read_as_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "exported.csv"
    shutil.copy(WORKBOOK, path)
    analysis = analyze_input(path)
    assert analysis.profile.source.input_format == "xlsx"
    assert analysis.profile.shape.rows_in == 3


def test_control_characters_in_the_name_are_escaped(tmp_path: Path) -> None:
    name = 'evil\n{"event":"forged"}\x1b[31m\u202egnp.csv'
    path = tmp_path / name
    path.write_text("a,b\n1,2\n")
    spec = sniff_source(path)
    assert spec.file_name == 'evil\\x0a{"event":"forged"}\\x1b[31m\\u202egnp.csv'
    with pytest.raises(InputError) as caught:
        sniff_source(tmp_path / f"missing\n\x1b[0m{name}")
    assert "\n" not in str(caught.value)
    assert "\x1b" not in str(caught.value)


def test_a_huge_shared_string_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    """400 MB in one shared string, a ~400 KB file: refused before any reader loads it."""
    path = tmp_path / "strings_bomb.xlsx"
    write_xlsx_parts(path, shared_string_bytes=400 << 20)
    assert path.stat().st_size < 2 << 20
    before, started = _peak_rss_mb(), time.monotonic()
    with pytest.raises(InputError, match=r"decompresses to more|longer than"):
        analyze_input(path)
    assert time.monotonic() - started < 20
    assert _peak_rss_mb() - before < 200


def test_a_sheet_of_whitespace_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    """2 GB of whitespace inside the sheet, a ~2 MB file."""
    path = tmp_path / "whitespace_bomb.xlsx"
    write_xlsx_parts(path, sheet_padding_bytes=2 << 30)
    assert path.stat().st_size < 4 << 20
    before, started = _peak_rss_mb(), time.monotonic()
    with pytest.raises(InputError, match=r"decompresses to more|longer than"):
        analyze_input(path)
    assert time.monotonic() - started < 20
    assert _peak_rss_mb() - before < 200


def test_a_part_over_the_ratio_is_refused_even_with_markup(tmp_path: Path) -> None:
    """Repetitive markup (no long text run) compressing beyond the documented ratio."""
    path = tmp_path / "ratio_bomb.xlsx"
    write_xlsx_parts(path, sheet_filler_rows=3_000_000)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    assert info.file_size / info.compress_size > XLSX_MAX_RATIO
    with pytest.raises(InputError, match="decompress"):
        analyze_input(path)


def test_a_cell_at_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big_cell.xlsx"
    write_xlsx_parts(path, shared_string_bytes=MAX_CELL_BYTES - 16, random_text=True)
    analysis = analyze_input(path)
    assert analysis.profile.shape.rows_in == 1
