"""``clean-my-data verify``: reconcile the database, the staging directory and the object store
(:func:`clean_my_data.verify`).

Exit 0 when consistent; exit 1 with one line per problem (``--json``: one JSON object per
problem, then a summary object naming the store checked). See docs/guide/auditing.md for what
is checked and how. ``--delete-superseded-objects --reason TEXT`` deletes instead the objects
that superseded uploads left (no downloads row refers to them), one history row each.
"""

from __future__ import annotations

import argparse
import json
import sys

from clean_my_data._api._audit import delete_superseded_objects, verify
from outbox.settings import Settings


def _delete_superseded(args: argparse.Namespace, settings: Settings) -> int:
    deleted = delete_superseded_objects(reason=args.reason or "", settings=settings)
    for location in deleted:
        print(f"deleted {location}")
    print(f"verify: {len(deleted)} superseded object(s) deleted", file=sys.stderr)
    return 0


def run_verify(args: argparse.Namespace, settings: Settings) -> int:
    if args.delete_superseded_objects:
        return _delete_superseded(args, settings)
    result = verify(deep=args.deep, settings=settings)
    if args.json:
        for problem in result.problems:
            sys.stdout.write(json.dumps(problem.as_json(), ensure_ascii=False) + "\n")
        summary = {
            "consistent": result.consistent,
            "problems": len(result.problems),
            "store": result.store,
        }
        sys.stdout.write(json.dumps({"summary": summary | result.stats.as_json()}) + "\n")
    else:
        for problem in result.problems:
            print(problem.line())
        stats = result.stats
        verdict = "consistent" if result.consistent else f"{len(result.problems)} problem(s)"
        print(
            f"verify: {verdict}; store {result.store}; {stats.downloads} downloads, "
            f"{stats.reports} reports, "
            f"{stats.objects_listed} objects listed, {stats.heads} HEADs, "
            f"{stats.staged_files_scanned} staged files",
            file=sys.stderr,
        )
    return 0 if result.consistent else 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="reconcile database, staging and object store; exit 1 listing problems",
    )
    parser.add_argument("--json", action="store_true", help="JSON lines, then a summary line")
    parser.add_argument(
        "--deep",
        action="store_true",
        help="HEAD every uploaded object to compare sha256 (default: only where the listing "
        "and the recorded ETag cannot vouch for it)",
    )
    parser.add_argument(
        "--delete-superseded-objects",
        action="store_true",
        help="delete the objects no download refers to any more that superseded uploads left "
        "(one history row each), instead of verifying",
    )
    parser.add_argument("--reason", help="why (recorded in the history); with --delete-...")
    parser.set_defaults(handler=run_verify)
