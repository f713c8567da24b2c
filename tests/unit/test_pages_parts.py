"""The pages' pure parts: sessions, origin checks, the login redirect target, chart geometry."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.requests import Request

from clean_my_data.web.pages import charts
from clean_my_data.web.pages.auditor import age_text
from clean_my_data.web.pages.common import PageError, read_form
from clean_my_data.web.pages.login import safe_next
from clean_my_data.web.pages.sessions import Session, csrf_matches, same_origin


def _request(headers: dict[str, str], host: str = "svc.example:8000") -> Request:
    raw = [(b"host", host.encode())] + [
        (k.lower().encode(), v.encode()) for k, v in headers.items()
    ]
    scope = {
        "type": "http",
        "method": "POST",
        "scheme": "http",
        "path": "/logout",
        "query_string": b"",
        "headers": raw,
        "server": ("svc.example", 8000),
    }
    return Request(scope)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, True),
        ({"Origin": "http://svc.example:8000"}, True),
        ({"Referer": "http://svc.example:8000/audit/failed"}, True),
        ({"Origin": "http://evil.example"}, False),
        ({"Origin": "http://svc.example:8000.evil.example"}, False),
        ({"Referer": "http://svc.example:80001/x"}, False),
        ({"Origin": "null"}, False),
    ],
)
def test_same_origin(headers: dict[str, str], expected: bool) -> None:
    assert same_origin(_request(headers)) is expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/audit?x=1", "/audit?x=1"),
        (None, "/"),
        ("", "/"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ],
)
def test_login_follows_only_local_paths(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_csrf_matches_only_the_sessions_own_token() -> None:
    session = Session("a" * 43)
    assert csrf_matches(session, "a" * 43)
    assert not csrf_matches(session, "b" * 43)
    assert not csrf_matches(session, "")
    assert not csrf_matches(session, None)


def test_missing_share_chart_scales_to_full_width() -> None:
    chart = charts.missing_share_chart(
        [
            {"name": "a", "missing_share": 0.0},
            {"name": "b", "missing_share": 0.5},
            {"name": "c", "missing_share": 1.0},
        ]
    )
    assert [bar.width for bar in chart.bars] == [0.0, charts.PLOT_WIDTH / 2, charts.PLOT_WIDTH]
    assert [bar.text for bar in chart.bars] == ["0.0 %", "50.0 %", "100.0 %"]
    assert chart.height == 3 * (charts.BAR_HEIGHT + 4)


def test_spread_places_quartiles_between_min_and_max() -> None:
    spread = charts.spread_of({"min": 0, "q1": 25, "median": 50, "q3": 75, "max": 100})
    assert spread is not None
    assert spread.x_min < spread.x_q1 < spread.x_median < spread.x_q3 < spread.x_max  # type: ignore[operator]
    assert spread.x_median == pytest.approx(charts.PLOT_WIDTH / 2)
    assert charts.spread_of({"min": 3}) is None
    assert charts.spread_of({}) is None


def test_failures_chart_sums_hours_per_error_class() -> None:
    chart = charts.failures_chart(
        [
            {"hour": "h1", "error_class": "timeout", "count": 2},
            {"hour": "h2", "error_class": "timeout", "count": 3},
            {"hour": "h2", "error_class": "access_denied", "count": 1},
        ]
    )
    assert [(bar.label, bar.value) for bar in chart.bars] == [
        ("access_denied", 1.0),
        ("timeout", 5.0),
    ]
    assert chart.bars[1].width == charts.PLOT_WIDTH


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0.4, "0 s"), (59.9, "59 s"), (60, "1 min"), (3599, "59 min"), (7200, "2 h"), (90000, "1 d")],
)
def test_relay_ages_read_in_the_largest_whole_unit(seconds: float, expected: str) -> None:
    assert age_text(seconds) == expected


def _posted(headers: dict[str, str], chunks: list[bytes]) -> tuple[Request, list[int]]:
    """A request whose body arrives as ``chunks``; the list counts the chunks read."""
    read: list[int] = []

    async def receive() -> dict[str, Any]:
        index = len(read)
        read.append(index)
        if index >= len(chunks):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunks[index], "more_body": index + 1 < len(chunks)}

    request = _request(headers)
    return Request(request.scope, receive), read


def test_a_page_form_is_read_as_url_encoded_fields() -> None:
    body = b"csrf_token=a%2Bb&token=cmd_%C3%A9+x&next="
    request, _ = _posted(
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, [body[:7], body[7:]]
    )
    form = asyncio.run(read_form(request))
    assert list(form.multi_items()) == [("csrf_token", "a+b"), ("token", "cmd_é x"), ("next", "")]


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data; boundary=x",  # a file upload to a page, the login page included
        "text/plain",
        None,
    ],
)
def test_a_page_form_that_is_not_url_encoded_is_refused_before_it_is_read(
    content_type: str | None,
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    request, read = _posted(headers, [b"--x\r\n" * 10])
    with pytest.raises(PageError) as raised:
        asyncio.run(read_form(request))
    assert raised.value.status == 415
    assert read == []
