"""``clean-my-data requeue``: put ``upload_failed`` downloads back in the queue.

Prints one line per download considered (a table; JSON lines with ``--json``). Exit 0 when every
selected failed download was requeued (or would be, with ``--dry-run``); exit 1 when some could
not be (their staged file is gone: the line says how to regenerate it).
"""

from __future__ import annotations

import argparse
import json
import sys

from clean_my_data._api._audit import requeue
from clean_my_data.commands._table import format_table, one_line
from outbox.audit.requeue import RequeueOutcome, count_verdicts
from outbox.settings import Settings

HEADERS = ("ANALYSIS", "DOWNLOAD", "FILE", "STATUS", "RESULT", "DETAIL")


def _print(outcomes: list[RequeueOutcome], as_json: bool) -> None:
    if as_json:
        for item in outcomes:
            sys.stdout.write(json.dumps(item.as_json(), ensure_ascii=False) + "\n")
        return
    rows = [
        [
            one_line(o.analysis_id),
            o.download_id,
            one_line(o.file_name, 40),
            o.status,
            o.verdict.value,
            one_line(o.detail),
        ]
        for o in outcomes
    ]
    print(format_table(HEADERS, rows))
    summary = ", ".join(f"{n} {verdict}" for verdict, n in sorted(count_verdicts(outcomes).items()))
    print(summary)


def run_requeue(args: argparse.Namespace, settings: Settings) -> int:
    report = requeue(
        reason=args.reason,
        download_id=args.download_id,
        analysis_id=args.analysis_id,
        failed=args.failed,
        since=args.since,
        error_class=args.error_class,
        dry_run=args.dry_run,
        settings=settings,
    )
    if not report.outcomes:
        print("no upload_failed downloads match", file=sys.stderr)
        return 0
    _print(list(report.outcomes), args.json)
    return 0 if report.complete else 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "requeue",
        help="put upload_failed downloads back in the queue",
        description="Requeue upload_failed downloads whose staged file is intact: a fresh outbox "
        "record, status pending, and a history row with the reason.",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--download-id", help="this download")
    which.add_argument("--analysis-id", help="every upload_failed download of this analysis")
    which.add_argument("--failed", action="store_true", help="every upload_failed download")
    parser.add_argument(
        "--since", help="with --failed: last failure since ISO 8601 time or 30m/2h/3d/1w ago"
    )
    parser.add_argument("--error-class", help="with --failed: last failure of this error class")
    parser.add_argument("--dry-run", action="store_true", help="show what would happen")
    parser.add_argument("--reason", required=True, help="why (recorded in the history)")
    parser.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    parser.set_defaults(handler=run_requeue)
