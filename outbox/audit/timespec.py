"""Parse the ``--since`` forms operators type: ISO 8601 or a relative age such as ``2h``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final

from domain.errors import UserFacingError
from outbox.clock import utcnow

_UNITS: Final = {
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_RELATIVE: Final = re.compile(r"^(\d{1,9})\s*([smhdw])$")


class TimeSpecError(UserFacingError):
    """A ``--since`` value is neither ISO 8601 nor a relative age."""


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``30m``, ``2h``, ``3d``, ``1w`` (ago, relative to ``now``) or an ISO 8601 date/time.

    Returns naive UTC. A time without an offset is taken as UTC.
    """
    value = text.strip()
    current = utcnow() if now is None else now
    match = _RELATIVE.match(value.lower())
    if match:
        try:
            return current - int(match.group(1)) * _UNITS[match.group(2)]
        except OverflowError:
            raise TimeSpecError(f"--since {text!r}: reaches before the year 1") from None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise TimeSpecError(
            f"--since {text!r}: expected ISO 8601 (2026-11-29T10:00:00Z) or an age like "
            "30m, 2h, 3d, 1w"
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed
