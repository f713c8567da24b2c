"""Header cleaning: the user's labels are kept wherever they are usable (unique, not blank,
no control characters, not formula-like), ``1960`` and ``Order Date (UTC)`` included; only
what is broken is fixed, and the findings say what was renamed."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from domain.model import Finding, Severity

_FORMULA_LEAD = re.compile(r"^[=+\-@\s]+")
_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def _printable(label: str) -> str:
    """The label without control characters, without surrounding spaces, and without the
    leading ``= + - @`` that would make a spreadsheet run it as a formula (a number such as
    ``-5`` is kept)."""
    text = "".join(c for c in label if unicodedata.category(c) != "Cc").strip()
    if _PLAIN_NUMBER.match(text):
        return text
    return _FORMULA_LEAD.sub("", text)


def clean_header(labels: tuple[str, ...]) -> tuple[str, ...]:
    """Usable names: surrounding spaces, control characters and a formula's leading
    ``= + - @`` removed, a blank label named
    ``column_<position>`` (1-based), a repeated one (ignoring letter case) given a ``_<n>``
    suffix; every other label is kept as written."""
    names: list[str] = []
    taken: set[str] = set()
    for position, label in enumerate(labels, start=1):
        base = _printable(label) or f"column_{position}"
        name = base
        suffix = 2
        while name.casefold() in taken:
            name = f"{base}_{suffix}"
            suffix += 1
        taken.add(name.casefold())
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
                sample_rows=(1,),  # the header row
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
                sample_rows=(1,),
                details={"labels": dict(list(repeated.items())[:50])},
            )
        )
    renamed = [(label, name) for label, name in zip(labels, names, strict=True) if label != name]
    if renamed:
        findings.append(
            Finding(
                code="header_renamed",
                severity=Severity.INFO,
                message=f"{len(renamed)} header label(s) were blank, repeated, formula-like or "
                "held control characters; renamed.",
                count=len(renamed),
                sample_rows=(1,),
                details={"renamed": dict(renamed[:50])},
            )
        )
    return findings
