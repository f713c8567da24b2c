from __future__ import annotations

import pyarrow as pa

from domain.downloads.cells import XLSX_MAX_CELL_CHARS, prepare_for_xlsx, prepare_text_for_xlsx


def test_prepare_for_xlsx_replaces_illegal_characters_and_cuts_long_cells() -> None:
    long = "x" * (XLSX_MAX_CELL_CHARS + 10)
    prepared = prepare_for_xlsx(pa.array(["a\x01b", long, "=1", "x\ufffey\uffffz"])).to_pylist()
    assert prepared[0] == "a\ufffdb"
    assert prepared[3] == "x\ufffdy\ufffdz"  # non-characters XML cannot hold
    assert len(prepared[1]) == XLSX_MAX_CELL_CHARS
    assert prepared[2] == "=1"  # values are never changed to look safe
    assert prepare_text_for_xlsx("tab\tstays\x07") == "tab\tstays\ufffd"
    assert prepare_text_for_xlsx("\uffff") == "\ufffd"
