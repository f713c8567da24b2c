"""The labelled evaluation corpus: files, their labels, and how a label is matched against an
analysis (findings and recommendations)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.model import Finding, Profile

HERE = Path(__file__).parent
LABELS = HERE / "labels.json"


def columns_of(finding: Finding) -> tuple[str | None, ...]:
    """The finding's column, or the columns a finding grouped over many columns lists."""
    listed = finding.details.get("columns") if finding.column is None else None
    if isinstance(listed, list) and listed and isinstance(listed[0], dict):
        return tuple(entry["column"] for entry in listed)
    return (finding.column,)


@dataclass(frozen=True)
class Label:
    code: str
    column: str | None  # "*": any column; None: a table-level finding
    severity: str | None = None
    rows: tuple[int, ...] = ()

    def describe(self) -> str:
        extra = f" {self.severity}" if self.severity else ""
        return f"{self.code}[{self.column}]{extra}"

    def matches(self, profile: Profile) -> bool:
        for finding in profile.findings:
            if finding.code != self.code or not self._column_fits(*columns_of(finding)):
                continue
            if self.severity is not None and str(finding.severity) != self.severity:
                continue
            if not set(self.rows) <= set(finding.sample_rows):
                continue
            return True
        return any(
            r.code == self.code and self._column_fits(r.column) for r in profile.recommendations
        )

    def _column_fits(self, *columns: str | None) -> bool:
        return self.column == "*" or self.column in columns


@dataclass(frozen=True)
class Case:
    path: Path
    must: tuple[Label, ...]
    must_not: tuple[Label, ...]


def _label(entry: dict[str, Any]) -> Label:
    return Label(
        code=entry["code"],
        column=entry["column"],
        severity=entry.get("severity"),
        rows=tuple(entry.get("rows", ())),
    )


def load_cases() -> Iterator[Case]:
    labels = json.loads(LABELS.read_text(encoding="utf-8"))
    for name, entry in sorted(labels.items()):
        if name.startswith("_"):
            continue
        yield Case(
            path=HERE / name,
            must=tuple(_label(e) for e in entry["must"]),
            must_not=tuple(_label(e) for e in entry["must_not"]),
        )
