"""Documented bounds on what one input may hold; beyond them the input is refused in one line.

They keep memory and time bounded whatever a small file claims to hold: a workbook's parts
are decompressed by the readers (a 400 KB xlsx can hold a 400 MB string), and a single cell
is held whole in memory by every reader.
"""

from __future__ import annotations

from typing import Final

MAX_CELL_BYTES: Final = 1 << 20  # one cell (and, in a workbook, any run of text between tags)
XLSX_MAX_PART_BYTES: Final = 1 << 30  # one decompressed part of a workbook (a sheet's XML)
XLSX_MAX_SHARED_STRINGS_BYTES: Final = 256 << 20  # the shared strings, read whole by readers
XLSX_MAX_TOTAL_BYTES: Final = 2 << 30  # all the parts of a workbook, decompressed
XLSX_MAX_RATIO: Final = 100  # decompressed / compressed size of one part ...
XLSX_RATIO_FLOOR_BYTES: Final = 4 << 20  # ... checked once the part exceeds this size
SHARED_STRINGS_PART: Final = "xl/sharedStrings.xml"
