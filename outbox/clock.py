"""The database's notion of now: naive UTC (every datetime column holds naive UTC)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def to_naive_utc(value: datetime | str) -> datetime:
    """A datetime or ISO-8601 string (``...Z`` allowed) as naive UTC; naive input is UTC."""
    parsed = datetime.fromisoformat(value.strip()) if isinstance(value, str) else value
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed
