"""``clean-my-data report ANALYSIS_ID``: the stored final object with current download statuses.

``render_report`` turns the stored object into the printed one; it takes an optional
``presign(s3_path) -> url`` so that ``--presign`` only has to build that callable from the
object store and pass it in.
"""

from __future__ import annotations

import argparse
import copy
import json
from collections.abc import Callable, Mapping
from typing import Any

from outbox.db import open_database
from outbox.reports import require_report
from outbox.settings import Settings
from outbox.tables import UPLOADED
from relay.presign import build_presigner

Presign = Callable[[str], str]


def render_report(stored: Mapping[str, Any], presign: Presign | None = None) -> dict[str, Any]:
    """A copy of ``stored``; with ``presign``, each uploaded download entry gets a fresh
    ``presigned_url`` (``presign`` receives the entry's ``s3_path``)."""
    rendered = copy.deepcopy(dict(stored))
    entries = rendered.get("report", {}).get("downloads", [])
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        entry.pop("presigned_url", None)
        if presign is not None and entry.get("status") == UPLOADED and entry.get("s3_path"):
            entry["presigned_url"] = presign(str(entry["s3_path"]))
    return rendered


def run_report(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_database(settings)
    try:
        stored = require_report(engine, args.analysis_id)
    finally:
        engine.dispose()
    presign = build_presigner(settings) if args.presign else None
    print(json.dumps(render_report(stored, presign), indent=2, ensure_ascii=False))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "report", help="print a stored final object with its current download statuses"
    )
    parser.add_argument("analysis_id", metavar="ANALYSIS_ID")
    parser.add_argument(
        "--presign",
        action="store_true",
        help="add a presigned_url (valid PRESIGN_TTL_SECONDS) to each uploaded download",
    )
    parser.set_defaults(handler=run_report)
