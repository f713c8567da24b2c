"""``clean-my-data purge``: apply retention now (the relay also runs it on a schedule).

Deletes finished outbox records older than OUTBOX_RETENTION_DAYS and, when
HISTORY_RETENTION_DAYS is set, history rows older than that; in small batches.
"""

from __future__ import annotations

import argparse

from outbox.audit.retention import count_purgeable, plan_purge, purge_expired
from outbox.db import open_database
from outbox.settings import Settings


def run_purge(args: argparse.Namespace, settings: Settings) -> int:
    plan = plan_purge(settings)
    history = (
        "history kept (HISTORY_RETENTION_DAYS unset)"
        if plan.history_cutoff is None
        else f"history recorded before {plan.history_cutoff.isoformat(timespec='seconds')}Z"
    )
    engine = open_database(settings)
    try:
        if args.dry_run:
            result = count_purgeable(engine, plan)
            verb = "would delete"
        else:
            result = purge_expired(engine, settings, batch_size=args.batch_size)
            verb = "deleted"
    finally:
        engine.dispose()
    print(
        f"{verb} {result.outbox_rows} finished outbox records finished before "
        f"{plan.outbox_cutoff.isoformat(timespec='seconds')}Z and {result.history_rows} "
        f"history rows; {history}"
    )
    return 0


MAX_BATCH_SIZE = 100_000


def batch_size(text: str) -> int:
    """``--batch-size``: a whole number of rows, 1 to MAX_BATCH_SIZE."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_BATCH_SIZE:
        raise argparse.ArgumentTypeError(f"{value} is not between 1 and {MAX_BATCH_SIZE:,}")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "purge", help="delete finished outbox records (and old history) past retention"
    )
    parser.add_argument("--dry-run", action="store_true", help="count only, delete nothing")
    parser.add_argument(
        "--batch-size",
        type=batch_size,
        default=500,
        help=f"rows per delete transaction, 1-{MAX_BATCH_SIZE:,} (default 500)",
    )
    parser.set_defaults(handler=run_purge)
