from __future__ import annotations

from domain.engine.headers import clean_header, snake_case


def test_snake_case() -> None:
    assert snake_case("Order Date (UTC)") == "order_date_utc"
    assert snake_case("customerID") == "customer_id"
    assert snake_case("2nd place") == "col_2nd_place"
    assert snake_case("  ") == ""


def test_unique_and_stable() -> None:
    names = clean_header(("A", "a", "", "a_2", "B b"))
    assert names == ("a", "a_2", "column_3", "a_2_2", "b_b")
    assert clean_header(names) == names  # cleaning clean names changes nothing
