from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from outbox.audit.timespec import TimeSpecError, parse_since

NOW = datetime(2026, 11, 29, 12, 0, 0)


@pytest.mark.parametrize(
    ("text", "ago"),
    [
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("3d", timedelta(days=3)),
        ("1w", timedelta(weeks=1)),
        ("45s", timedelta(seconds=45)),
        (" 2H ", timedelta(hours=2)),
    ],
)
def test_relative_ages_count_back_from_now(text: str, ago: timedelta) -> None:
    assert parse_since(text, NOW) == NOW - ago


def test_iso_with_offset_is_converted_to_naive_utc() -> None:
    assert parse_since("2026-11-29T14:00:00+02:00", NOW) == datetime(2026, 11, 29, 12, 0, 0)
    assert parse_since("2026-11-29T10:30:00Z", NOW) == datetime(2026, 11, 29, 10, 30, 0)


def test_iso_without_offset_and_plain_date_are_utc() -> None:
    assert parse_since("2026-11-28T08:15", NOW) == datetime(2026, 11, 28, 8, 15)
    assert parse_since("2026-11-28", NOW) == datetime(2026, 11, 28)


@pytest.mark.parametrize("text", ["yesterday", "2x", "-3d", "", "2026-13-01", "3 days"])
def test_bad_values_raise_a_one_line_user_error(text: str) -> None:
    with pytest.raises(TimeSpecError) as info:
        parse_since(text, NOW)
    assert "\n" not in str(info.value)
    assert "--since" in str(info.value)
