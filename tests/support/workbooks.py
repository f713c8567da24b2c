"""What a workbook must be before any spreadsheet application opens it."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from xml.etree import ElementTree


def malformed_parts(workbook: Path | bytes) -> list[str]:
    """The parts of a workbook (a path or its bytes) that are not well-formed XML: Excel
    refuses such a file."""
    source = io.BytesIO(workbook) if isinstance(workbook, bytes) else workbook
    problems = []
    with zipfile.ZipFile(source) as archive:
        for name in archive.namelist():
            try:
                ElementTree.fromstring(archive.read(name))
            except ElementTree.ParseError as exc:
                problems.append(f"{name} of the workbook is not well-formed XML: {exc}")
    return problems
