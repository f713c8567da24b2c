"""Header cleaning: unique snake_case names, and the findings about the raw labels."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from domain.model import Finding, Severity

_NON_WORD = re.compile(r"[^\w]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
MAX_NAME_LENGTH = 64
BASE_LENGTH = 56  # leaves room for a "_<n>" suffix below MAX_NAME_LENGTH


def snake_case(label: str) -> str:
    """``"Order Date (UTC)"`` -> ``"order_date_utc"``; may return "" for a blank label."""
    text = unicodedata.normalize("NFKC", label).strip()
    text = _CAMEL.sub("_", text)
    text = _NON_WORD.sub("_", text.lower()).strip("_")
    text = re.sub(r"_+", "_", text)
    if text and text[0].isdigit():
        text = f"col_{text}"
    return text[:MAX_NAME_LENGTH].rstrip("_")


def clean_header(labels: tuple[str, ...]) -> tuple[str, ...]:
    """Unique snake_case names; blank labels become ``column_<position>`` (1-based)."""
    names: list[str] = []
    taken: set[str] = set()
    for position, label in enumerate(labels, start=1):
        base = snake_case(label)[:BASE_LENGTH].rstrip("_") or f"column_{position}"
        name = base
        suffix = 2
        while name in taken:
            name = f"{base}_{suffix}"
            suffix += 1
        taken.add(name)
        names.append(name)
    return tuple(names)


def find_header_problems(labels: tuple[str, ...], names: tuple[str, ...]) -> list[Finding]:
    findings: list[Finding] = []
    blank = [i for i, label in enumerate(labels) if not label.strip()]
    if blank:
        findings.append(
            Finding(
                code="blank_header",
                severity=Severity.HIGH,
                message=f"{len(blank)} column(s) have no header label; named by position.",
                count=len(blank),
                details={"positions": [i + 1 for i in blank[:50]]},
            )
        )
    counts = Counter(label.strip() for label in labels if label.strip())
    repeated = {label: n for label, n in counts.items() if n > 1}
    if repeated:
        findings.append(
            Finding(
                code="duplicate_header",
                severity=Severity.MEDIUM,
                message=f"{len(repeated)} header label(s) occur more than once; made unique.",
                count=sum(repeated.values()),
                details={"labels": dict(list(repeated.items())[:50])},
            )
        )
    renamed = [(label, name) for label, name in zip(labels, names, strict=True) if label != name]
    if renamed:
        findings.append(
            Finding(
                code="header_renamed",
                severity=Severity.INFO,
                message=f"{len(renamed)} header label(s) renamed to unique snake_case.",
                count=len(renamed),
                details={"renamed": dict(renamed[:50])},
            )
        )
    return findings
