"""The open-mode guard's pure parts: which ``Host`` names loopback, which request is
cross-site."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from clean_my_data.web.crosssite import is_cross_site, names_loopback


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1:8000", True),
        ("127.0.0.1", True),
        ("127.8.9.10:1", True),
        ("localhost:8000", True),
        ("LOCALHOST", True),
        ("localhost.:8000", True),
        ("[::1]:8000", True),
        ("", False),
        ("evil.example:8000", False),
        ("localhost.evil.example", False),
        ("127.0.0.1.nip.io:8000", False),
        ("10.0.0.1:8000", False),
        ("[::1", False),
        ("user@127.0.0.1", False),
    ],
)
def test_names_loopback(host: str, expected: bool) -> None:
    assert names_loopback(host) is expected


def _post(headers: dict[str, str]) -> Request:
    raw = [(b"host", b"127.0.0.1:8000")] + [
        (k.lower().encode(), v.encode()) for k, v in headers.items()
    ]
    return Request(
        {
            "type": "http",
            "method": "POST",
            "scheme": "http",
            "path": "/api/v1/analyses",
            "query_string": b"",
            "headers": raw,
            "server": ("127.0.0.1", 8000),
        }
    )


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, False),
        ({"Sec-Fetch-Site": "none"}, False),
        ({"Sec-Fetch-Site": "same-origin", "Origin": "http://127.0.0.1:8000"}, False),
        ({"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:9000"}, True),
        ({"Sec-Fetch-Site": "cross-site"}, True),
        ({"Sec-Fetch-Site": "CROSS-SITE"}, True),
        ({"Origin": "http://evil.example"}, True),
        ({"Origin": "null"}, True),
        ({"Referer": "http://evil.example/x"}, True),
    ],
)
def test_is_cross_site(headers: dict[str, str], expected: bool) -> None:
    assert is_cross_site(_post(headers)) is expected
