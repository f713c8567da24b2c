"""Render rows as an aligned plain-text table (the audit commands' terminal output)."""

from __future__ import annotations

from collections.abc import Sequence


def one_line(value: object, limit: int | None = None) -> str:
    """A cell: None as "-", newlines and tabs flattened, optionally cut to ``limit`` chars."""
    if value is None:
        return "-"
    text = " ".join(str(value).split())
    if limit is not None and len(text) > limit:
        return text[: limit - 1] + "…"
    return text


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in (headers, *rows)
    ]
    return "\n".join(lines)
