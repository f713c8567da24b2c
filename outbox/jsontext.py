"""JSON text as stored in the database: compact, UTF-8, no NaN/Infinity (invalid JSON for MySQL).

Non-finite floats become null; dates and datetimes become ISO-8601 strings; other unknown values
are refused (a programming error, not data).
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from typing import Any


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps_json(value: Any) -> str:
    try:
        return json.dumps(
            value, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_default
        )
    except ValueError:  # NaN or Infinity somewhere: replace them, then serialise
        return json.dumps(
            _finite(value),
            ensure_ascii=False,
            separators=(",", ":"),
            allow_nan=False,
            default=_default,
        )
