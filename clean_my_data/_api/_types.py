"""The typed shapes the public API returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

import sqlalchemy as sa


class FinalObject(TypedDict):
    """The final object of one analysis (JSON-serialisable).

    ``report`` holds the findings and ``report["downloads"]``: one entry per artifact (cleaned
    CSV, Excel workbook, JSON report). Committed analyses carry ``sha256``, ``s3_path`` and
    ``status`` (``pending``, ``uploaded`` or ``upload_failed``) per entry; inline ones carry
    ``content_base64`` instead.
    """

    analysis_id: str
    tool: str
    status: str
    timestamp: str  # ISO 8601, UTC
    execution_time_ms: int
    report: dict[str, Any]


InTransaction = Callable[[sa.Connection], None]
"""Extra work run inside the commit transaction, after the analysis' rows are written and
before COMMIT; raising rolls everything back."""
