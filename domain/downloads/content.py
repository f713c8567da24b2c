"""What the report generators (xlsx, JSON) read: the final object and the spilled row issues."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class ReportContent:
    """``final_object`` has the bounded ``rowLevelIssues``; ``row_issues`` re-reads the spilled
    list (schema ``ROW_ISSUE_SCHEMA``) each time it is called: in the pipeline only its head
    (the rows the workbook shows; the row trail is written while the data is cleaned), in
    :func:`~domain.downloads.json_downloads.fold_trail` all ``row_issue_total`` rows.
    ``cleaned_preview`` is the head of the cleaned table (string columns),
    ``cleaned_row_total`` the number of cleaned rows."""

    final_object: Mapping[str, Any]
    row_issues: Callable[[], Iterator[pa.RecordBatch]]
    row_issue_total: int
    cleaned_preview: pa.Table
    cleaned_row_total: int
