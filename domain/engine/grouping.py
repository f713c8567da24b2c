"""One finding per kind where the same thing happens in many columns: 52 "missing values"
findings on the year columns of a wide table become one finding listing the columns."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Final

from domain.model import Finding, Recommendation, Severity

GROUP_MIN_COLUMNS: Final = 5  # this many columns with one kind (and severity): one finding
LISTED_COLUMNS: Final = 200  # columns listed in a grouped finding's details
_NAMED: Final = 5  # columns named in its message
KINDS: Final = {
    "missing_values": "missing values",
    "null_sentinel": "null placeholders (NA, null, -, ...)",
    "leading_trailing_whitespace": "leading or trailing spaces (trimmed)",
    "skewed_distribution": "a strongly skewed distribution",
    "constant_column": "a single value",
    "empty_column": "no value (dropped)",
    "id_like_column": "identifier-like values",
    "type_mismatch": "values that do not fit the column's type",
    "numeric_formatting": "formatted numbers (converted)",
    "float_noise": "floating-point residue",
    "outliers": "outliers",
}


def _names(columns: Sequence[str]) -> str:
    named = ", ".join(f"'{c}'" for c in columns[:_NAMED])
    return named + (f" and {len(columns) - _NAMED} more" if len(columns) > _NAMED else "")


def group_findings(findings: Sequence[Finding], sample_rows: int) -> list[Finding]:
    """The findings with every (code, severity) that covers GROUP_MIN_COLUMNS columns or more
    merged into one, in the place of the first; table-level findings stay as they are."""
    groups: dict[tuple[str, Severity], list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.column is not None:
            groups[(finding.code, finding.severity)].append(finding)
    merged: list[Finding] = []
    for finding in findings:
        group = groups.get((finding.code, finding.severity), [])
        if finding.column is None or len(group) < GROUP_MIN_COLUMNS:
            merged.append(finding)
        elif finding is group[0]:
            merged.append(_merge(group, sample_rows))
    return merged


def _merge(group: list[Finding], sample_rows: int) -> Finding:
    columns = [f.column or "" for f in group]
    count = sum(f.count for f in group)
    kind = KINDS.get(group[0].code, group[0].code.replace("_", " "))
    rows = sorted({r for f in group for r in f.sample_rows})[:sample_rows]
    return Finding(
        code=group[0].code,
        severity=group[0].severity,
        message=f"{len(columns)} columns have {kind}: {_names(columns)}; {count:,} cells in all.",
        column=None,
        count=count,
        sample_rows=tuple(rows),
        details={
            "columns": [
                {"column": f.column, "count": f.count, "message": f.message, **f.details}
                for f in group[:LISTED_COLUMNS]
            ],
            "column_count": len(columns),
        },
    )


def group_recommendations(recommendations: Sequence[Recommendation]) -> list[Recommendation]:
    """Likewise for recommendations: one per code once GROUP_MIN_COLUMNS columns share it."""
    by_code: dict[str, list[Recommendation]] = defaultdict(list)
    for item in recommendations:
        if item.column is not None:
            by_code[item.code].append(item)
    merged: list[Recommendation] = []
    for item in recommendations:
        group = by_code.get(item.code, [])
        if item.column is None or len(group) < GROUP_MIN_COLUMNS:
            merged.append(item)
        elif item is group[0]:
            columns = [r.column or "" for r in group]
            merged.append(
                Recommendation(
                    item.code,
                    f"{item.message} The same holds for {len(columns) - 1} more column(s): "
                    f"{_names(columns[1:])}.",
                    None,
                    {"columns": columns[:LISTED_COLUMNS], "column_count": len(columns)},
                )
            )
    return merged
