"""Escaping names for display and masking credentials in URLs and messages."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.display import escape_name, mask_credentials

SECRET = "S3cr-t.pw"


def test_control_and_bidi_characters_become_visible_escapes() -> None:
    name = 'report\n{"level":"error"}\x1b[31mred\u202egnp.csv'
    escaped = escape_name(name)
    assert escaped == 'report\\x0a{"level":"error"}\\x1b[31mred\\u202egnp.csv'


def test_ordinary_names_are_unchanged() -> None:
    for name in ("data.csv", "名前 ville עיר 😀.xlsx", "a b\\c.csv", "Zürich-2024.csv"):
        assert escape_name(name) == name


@given(st.text())
def test_an_escaped_name_holds_no_control_line_or_bidi_character(text: str) -> None:
    escaped = escape_name(text)
    categories = {unicodedata.category(c) for c in escaped}
    assert not categories & {"Cc", "Cs", "Zl", "Zp"}, repr(escaped)
    assert not set(escaped) & set(
        "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    )
    assert len(escaped.splitlines()) <= 1
    escaped.encode("utf-8")  # no lone surrogate left


@pytest.mark.parametrize(
    "url",
    [
        f"mysql+pymysql://app:{SECRET}@db:3306/clean",
        f"mysql+pymysql://app@db/clean?password={SECRET}",
        f"mysql+pymysql://app@db/clean?charset=utf8mb4&passwd={SECRET}&x=1",
        f"mysql+pymysql://app@db/clean?PWD={SECRET}",
        f"s3://AKIAEXAMPLE:{SECRET}@bucket/prefix",
        f"https://s3.example.com/b/k?X-Amz-Credential={SECRET}&X-Amz-Signature={SECRET}",
        f"http://minio:9000/?aws_secret_access_key={SECRET}",
        f"sqlite:///x.db?token={SECRET}",
    ],
)
def test_every_credential_form_in_a_url_is_masked(url: str) -> None:
    masked = mask_credentials(url)
    assert SECRET not in masked
    assert "***" in masked


def test_masking_keeps_what_is_not_secret() -> None:
    assert (
        mask_credentials(f"mysql+pymysql://app:{SECRET}@db:3306/clean?charset=utf8mb4")
        == "mysql+pymysql://app:***@db:3306/clean?charset=utf8mb4"
    )
    assert mask_credentials("s3://bucket/prefix") == "s3://bucket/prefix"
    assert mask_credentials("http://minio:9000") == "http://minio:9000"


def test_urls_inside_a_message_are_masked() -> None:
    message = (
        f"cannot use the database mysql+pymysql://app@db/x?password={SECRET}: "
        f"(1045, \"Access denied for user 'app' (using password: YES)\") "
        f"and password={SECRET}"
    )
    masked = mask_credentials(message)
    assert SECRET not in masked
    assert "using password: YES" in masked
