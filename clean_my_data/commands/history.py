"""``clean-my-data history``: every attempt from the append-only outbox history, oldest first.

An aligned table by default (also when piped: use ``--json`` for machines), JSON lines with
``--json`` (one object per attempt, streamed).
"""

from __future__ import annotations

import argparse
import json
import sys

from clean_my_data._api._audit import history
from clean_my_data.commands._table import format_table, one_line
from outbox.audit.history import OUTCOMES, HistoryEntry
from outbox.settings import Settings

HEADERS = (
    "TIME (UTC)",
    "ANALYSIS",
    "DOWNLOAD",
    "EVENT",
    "ATTEMPT",
    "RELAY/ACTOR",
    "OUTCOME",
    "ERROR",
    "BYTES",
    "MS",
    "OBJECT KEY",
    "ETAG",
    "REASON",
)


def _cells(entry: HistoryEntry) -> list[str]:
    error = None
    if entry.error_class or entry.error_message:
        error = f"{entry.error_class or 'error'}: {entry.error_message or ''}".rstrip(": ")
    return [
        entry.recorded_at.isoformat(sep=" ", timespec="milliseconds"),
        one_line(entry.analysis_id),
        one_line(entry.download_id),
        one_line(entry.event),
        str(entry.attempt),
        one_line(entry.actor),
        one_line(entry.outcome),
        one_line(error, 80),
        str(entry.bytes),
        str(entry.duration_ms),
        one_line(entry.object_key),
        one_line(entry.etag),
        one_line(entry.reason, 60),
    ]


def run_history(args: argparse.Namespace, settings: Settings) -> int:
    entries = history(
        analysis_id=args.analysis_id,
        download_id=args.download_id,
        status=args.status,
        outcome=args.outcome,
        since=args.since,
        settings=settings,
    )
    if args.json:
        for entry in entries:
            sys.stdout.write(json.dumps(entry.as_json(), ensure_ascii=False) + "\n")
        return 0
    rows = [_cells(entry) for entry in entries]
    if not rows:
        print("no history rows match", file=sys.stderr)
        return 0
    print(format_table(HEADERS, rows))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "history",
        help="every upload attempt and operator action, oldest first",
        description="The append-only outbox history, oldest first. Table output; JSON lines "
        "with --json.",
    )
    parser.add_argument("--analysis-id", help="only this analysis")
    parser.add_argument("--download-id", help="only this download")
    parser.add_argument(
        "--status",
        help="only downloads currently in this status (pending, uploaded, upload_failed)",
    )
    parser.add_argument(
        "--outcome", help=f"only attempts with this outcome ({', '.join(OUTCOMES)})"
    )
    parser.add_argument(
        "--since", help="only rows recorded since: ISO 8601 (2026-11-29T10:00Z) or 30m/2h/3d/1w"
    )
    parser.add_argument("--json", action="store_true", help="JSON lines, one attempt per line")
    parser.set_defaults(handler=run_history)
