from __future__ import annotations

import re

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.downloads.cells import (
    XLSX_MAX_CELL_CHARS,
    neutralise_formulas,
    prepare_for_xlsx,
    prepare_text_for_xlsx,
)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+1 555 0100", "'+1 555 0100"),
        ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
        ("\t=1", "'\t=1"),
        ("-", "'-"),
        ("-12.5", "-12.5"),
        ("+3e5", "+3e5"),
        ("-.5", "-.5"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise_formulas_quotes_only_formula_like_cells(cell: str, expected: str) -> None:
    assert neutralise_formulas(pa.array([cell])).to_pylist() == [expected]


def test_neutralise_keeps_nulls_and_non_strings() -> None:
    assert neutralise_formulas(pa.array(["=x", None])).to_pylist() == ["'=x", None]
    numbers = pa.array([-1, 2])
    assert neutralise_formulas(numbers) is numbers


def test_prepare_for_xlsx_replaces_illegal_characters_and_cuts_long_cells() -> None:
    long = "x" * (XLSX_MAX_CELL_CHARS + 10)
    prepared = prepare_for_xlsx(pa.array(["a\x01b", long, "=1"])).to_pylist()
    assert prepared[0] == "a\ufffdb"
    assert len(prepared[1]) == XLSX_MAX_CELL_CHARS
    assert prepared[2] == "'=1"
    assert prepare_text_for_xlsx("tab\tstays\x07") == "tab\tstays\ufffd"


def _reference(cell: str | None) -> str | None:
    """The rule in plain Python."""
    if cell is None or cell[:1] not in ("=", "+", "-", "@", "\t", "\r") or not cell:
        return cell
    if re.fullmatch(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", cell):
        return cell
    return "'" + cell


cells = st.one_of(
    st.none(),
    st.text(alphabet="=+-@\t\r0123456789.eEabc ,\"'é", max_size=8),
)


@given(st.lists(cells, max_size=40), st.integers(0, 5))
def test_neutralise_matches_the_plain_rule_on_any_cells(values: list[str | None], cut: int) -> None:
    array = pa.array(values, pa.string())
    expected = [_reference(v) for v in values]
    assert neutralise_formulas(array).to_pylist() == expected
    assert neutralise_formulas(array.slice(cut)).to_pylist() == expected[cut:]
    assert neutralise_formulas(array.cast(pa.large_string())).to_pylist() == expected
    chunked = pa.chunked_array([array.slice(0, cut), array.slice(cut)], pa.string())
    assert neutralise_formulas(chunked).to_pylist() == expected
