"""``clean-my-data report ANALYSIS_ID [--presign]``: the stored final object with current
download statuses (:func:`clean_my_data.get_report`)."""

from __future__ import annotations

import argparse
import json

from clean_my_data._api._reports import get_report, render_report
from outbox.settings import Settings

__all__ = ["register", "render_report", "run_report"]


def run_report(args: argparse.Namespace, settings: Settings) -> int:
    final_object = get_report(args.analysis_id, presign=args.presign, settings=settings)
    print(json.dumps(final_object, indent=2, ensure_ascii=False))
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
