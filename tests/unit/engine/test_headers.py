from __future__ import annotations

from domain.engine.headers import clean_header, find_header_problems


def test_usable_labels_are_kept_as_written() -> None:
    labels = ("Order Date (UTC)", "1960", "customerID", "Prix €", "2nd place")
    assert clean_header(labels) == labels


def test_only_broken_labels_are_fixed() -> None:
    names = clean_header(("A", "a", "", " B ", "C\x00\x1f", "a_2", "\t"))
    assert names == ("A", "a_2", "column_3", "B", "C", "a_2_2", "column_7")
    assert clean_header(names) == names  # cleaning clean names changes nothing


def test_formula_like_labels_lose_their_formula_start() -> None:
    labels = ('=HYPERLINK("http://evil")', "@name", "+plus", "-minus", "-5", "\t=tabbed", "=")
    assert clean_header(labels) == (
        'HYPERLINK("http://evil")',
        "name",
        "plus",
        "minus",
        "-5",
        "tabbed",
        "column_7",
    )


def test_the_renamings_are_reported() -> None:
    labels = ("year", "", "year")
    names = clean_header(labels)
    found = {f.code: f for f in find_header_problems(labels, names)}
    assert found["header_renamed"].details == {"renamed": {"": "column_2", "year": "year_2"}}
    assert set(found) == {"blank_header", "duplicate_header", "header_renamed"}
