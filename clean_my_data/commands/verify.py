"""``clean-my-data verify``: reconcile the database, the staging directory and the object store
(:func:`clean_my_data.verify`).

Exit 0 when consistent; exit 1 with one line per problem (``--json``: one JSON object per
problem, then a summary object).
"""

from __future__ import annotations

import argparse
import json
import sys

from clean_my_data._api._audit import verify
from outbox.settings import Settings


def run_verify(args: argparse.Namespace, settings: Settings) -> int:
    result = verify(deep=args.deep, settings=settings)
    if args.json:
        for problem in result.problems:
            sys.stdout.write(json.dumps(problem.as_json(), ensure_ascii=False) + "\n")
        summary = {"consistent": result.consistent, "problems": len(result.problems)}
        sys.stdout.write(json.dumps({"summary": summary | result.stats.as_json()}) + "\n")
    else:
        for problem in result.problems:
            print(problem.line())
        stats = result.stats
        verdict = "consistent" if result.consistent else f"{len(result.problems)} problem(s)"
        print(
            f"verify: {verdict}; {stats.downloads} downloads, {stats.reports} reports, "
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
    parser.set_defaults(handler=run_verify)
