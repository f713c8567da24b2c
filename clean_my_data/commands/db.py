"""``clean-my-data db upgrade``: create or migrate the schema; safe to run twice."""

from __future__ import annotations

import argparse

from outbox.db import create_database_engine, describe_url
from outbox.migrations import upgrade
from outbox.settings import Settings


def run_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    engine = create_database_engine(settings)
    try:
        applied = upgrade(engine)
    finally:
        engine.dispose()
    where = describe_url(engine)
    if applied:
        for label in applied:
            print(f"applied {label}")
        print(f"schema of {where} is up to date ({len(applied)} applied)")
    else:
        print(f"schema of {where} is already up to date (nothing applied)")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("db", help="database schema management")
    actions = parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = actions.add_parser("upgrade", help="create or migrate the schema; safe to run twice")
    up.set_defaults(handler=run_upgrade)
