"""The JSON report download: the final object plus the compact row-level trail.

The document is the final object as printed (``rowLevelIssues`` holds the first
``ROW_LEVEL_ISSUES_IN_OBJECT`` row issues as objects, beside ``rowLevelIssuesTotal`` and
``rowLevelIssuesTruncated``) with one more member in ``report``::

    {"analysis_id": ..., ..., "report": {..., "downloads": [...], "rowLevelTrail": [
        {"column": ..., "code": ..., "severity": ..., "action": ..., "cells": ...,
         "rows": [row, [first, last], ...], "rowsTruncated": false,
         "changes": [{"old": ..., "new": ..., "count": ...}, ...], "changesUnlisted": 0},
        ...]}}

one entry per cleaning decision (see :mod:`domain.downloads.trail`, which bounds it); every
cell is in the Parquet row trail (:mod:`domain.downloads.trail_parquet`), listed in
``downloads``. The entries are written one at a time, never joined whole in memory. UTF-8,
compact separators.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, BinaryIO

from domain.artifacts import ArtifactSink, ArtifactSpec, WrittenArtifact
from domain.downloads.content import ReportContent
from domain.downloads.entries import choose_sink, describe_download, report_json_spec
from domain.downloads.trail import CompactTrail, trail_budget

TRAIL_KEY = "rowLevelTrail"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _member(key: str, value: Any) -> bytes:
    return f"{_dumps(key)}:{_dumps(value)}".encode()


def write_json_report(
    spec: ArtifactSpec,
    final_object: Mapping[str, Any],
    trail_entries: Iterable[bytes],
    sink: ArtifactSink,
) -> WrittenArtifact:
    """Write ``final_object`` with ``report.rowLevelTrail`` made of ``trail_entries`` (JSON
    texts) into one artifact of ``sink``."""

    def write_report(stream: BinaryIO, report: Mapping[str, Any]) -> None:
        stream.write(b"{")
        for key, value in report.items():
            if key != TRAIL_KEY:
                stream.write(_member(str(key), value) + b",")
        stream.write(_dumps(TRAIL_KEY).encode() + b":[")
        for index, entry in enumerate(trail_entries):
            if index:
                stream.write(b",")
            stream.write(entry)
        stream.write(b"]}")

    def write(stream: BinaryIO) -> None:
        stream.write(b"{")
        for index, (key, value) in enumerate(final_object.items()):
            if index:
                stream.write(b",")
            if key == "report":
                stream.write(_dumps("report").encode() + b":")
                write_report(stream, value)
            else:
                stream.write(_member(str(key), value))
        stream.write(b"}")

    return sink.write_artifact(spec, write)


def fold_trail(content: ReportContent) -> CompactTrail:
    """The compact trail of every row issue in ``content``, within the budget of its input."""
    source = content.final_object["report"]["analysisSummary"]["source"]
    trail = CompactTrail(trail_budget(int(source["size_bytes"])))
    for batch in content.row_issues():
        trail.add(batch)
    if trail.total != content.row_issue_total:
        raise ValueError(
            f"row-level issues: spilled {content.row_issue_total}, read back {trail.total}"
        )
    return trail


def generate_json_download(
    analysis_id: str,
    source_name: str,
    content: ReportContent,
    *,
    inline: bool = True,
    sink: ArtifactSink | None = None,
) -> dict[str, Any]:
    """Write the JSON report and return its download entry."""
    spec = report_json_spec(analysis_id, source_name)
    trail = fold_trail(content)
    written = write_json_report(
        spec, content.final_object, trail.render_entries(), choose_sink(inline, sink)
    )
    return describe_download(written, inline)
