"""Keep the stored final object under ``REPORT_MAX_BYTES``.

A larger object is stored with its ``report.rowLevelIssues`` cut to the longest prefix that fits,
and a top-level ``trimmed`` marker saying what was cut and where the full report is (the JSON
download, which is always complete). If the object is still too large without any row-level
issue, every string value longer than 4,096 (then 1,024, 256, 64) characters is cut with a mark
``…[N more characters]``; if even that does not fit, it is stored so and a warning is logged.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from outbox.jsontext import dumps_json

log = structlog.get_logger()

ROW_LEVEL_ISSUES = "rowLevelIssues"
MARKER = "trimmed"


@dataclass(frozen=True)
class Trimmed:
    final_object: dict[str, Any]
    trimmed: bool
    size_bytes: int  # of the object as stored


def measure_json_bytes(value: Any) -> int:
    return len(dumps_json(value).encode("utf-8"))


def _with_issues(
    base: dict[str, Any], issues: list[Any], kept: int, marker: dict[str, Any]
) -> dict[str, Any]:
    candidate = dict(base)
    report = dict(candidate["report"])
    report[ROW_LEVEL_ISSUES] = issues[:kept]
    candidate["report"] = report
    candidate[MARKER] = {**marker, "row_level_issues_kept": kept}
    return candidate


def trim_final_object(
    final_object: Mapping[str, Any],
    max_bytes: int,
    *,
    full_report: Mapping[str, Any] | None = None,
) -> Trimmed:
    """``final_object`` unchanged when it fits, else trimmed (see the module docstring).
    ``full_report``: the JSON download's entry (``download_id``, ``file_name``), for the marker."""
    original = copy.deepcopy(dict(final_object))
    size = measure_json_bytes(original)
    report = original.get("report")
    if size <= max_bytes:
        return Trimmed(original, False, size)
    issues = report.get(ROW_LEVEL_ISSUES) if isinstance(report, dict) else None
    if not isinstance(issues, list):
        issues = []
    marker: dict[str, Any] = {
        "reason": f"the final object exceeded REPORT_MAX_BYTES ({max_bytes} bytes)",
        "original_bytes": size,
        "row_level_issues_total": len(issues),
        "full_report_download_id": full_report.get("download_id") if full_report else None,
        "full_report_file_name": full_report.get("file_name") if full_report else None,
    }
    low, high = 0, len(issues) - 1  # the largest kept count that fits, by bisection
    best = _with_issues(original, issues, 0, marker) if issues else original
    best_size = measure_json_bytes(best)
    if best_size > max_bytes:
        return _truncate_values(best, marker, max_bytes)
    while low < high:
        middle = (low + high + 1) // 2
        candidate = _with_issues(original, issues, middle, marker)
        candidate_size = measure_json_bytes(candidate)
        if candidate_size <= max_bytes:
            low, best, best_size = middle, candidate, candidate_size
        else:
            high = middle - 1
    log.info(
        "stored_report_trimmed",
        original_bytes=size,
        stored_bytes=best_size,
        row_level_issues_kept=low,
        row_level_issues_total=len(issues),
    )
    return Trimmed(best, True, best_size)


# Characters kept of each long string value, tried in turn until the object fits.
VALUE_LIMITS = (4096, 1024, 256, 64)


def _truncate_strings(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        if len(value) <= limit:
            return value
        return f"{value[:limit]}…[{len(value) - limit} more characters]"
    if isinstance(value, dict):
        return {key: _truncate_strings(item, limit) for key, item in value.items()}
    if isinstance(value, list):
        return [_truncate_strings(item, limit) for item in value]
    return value


def _truncate_values(
    final_object: dict[str, Any], marker: dict[str, Any], max_bytes: int
) -> Trimmed:
    """Without its row-level issues the object is still too large: long values (a huge cell
    among the top values, a long header) are cut, each with a mark saying how much."""
    candidate = final_object
    size = measure_json_bytes(candidate)
    for limit in VALUE_LIMITS:
        body = {key: item for key, item in final_object.items() if key != MARKER}
        kept_issues = final_object.get(MARKER, {}).get("row_level_issues_kept", 0)
        candidate = _truncate_strings(body, limit)
        candidate[MARKER] = {
            **marker,
            "row_level_issues_kept": kept_issues,
            "values_truncated_to_characters": limit,
        }
        size = measure_json_bytes(candidate)
        if size <= max_bytes:
            log.info("stored_report_values_truncated", stored_bytes=size, characters=limit)
            return Trimmed(candidate, True, size)
    log.warning("stored_report_over_limit", size_bytes=size, limit_bytes=max_bytes)
    return Trimmed(candidate, True, size)
