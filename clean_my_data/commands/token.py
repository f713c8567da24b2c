"""``clean-my-data token create --role R --name N`` (prints the token once) and
``clean-my-data token revoke NAME``."""

from __future__ import annotations

import argparse
import sys

from outbox.access import create_token, revoke_token
from outbox.db import open_database
from outbox.settings import Settings
from outbox.tables import ROLES


def run_token(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_database(settings)
    try:
        if args.action == "create":
            token = create_token(engine, name=args.name, role=args.role)
            sys.stdout.write(token + "\n")
            print(
                f"token {args.name!r} ({args.role}) created; it is shown only this once",
                file=sys.stderr,
            )
        else:
            revoke_token(engine, args.name)
            print(f"token {args.name!r} revoked", file=sys.stderr)
        return 0
    finally:
        engine.dispose()


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("token", help="create or revoke API tokens")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a token and print it once")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--name", required=True, help="who holds it (recorded as the actor)")
    revoke = actions.add_parser("revoke", help="revoke a token by name")
    revoke.add_argument("name", metavar="NAME")
    parser.set_defaults(handler=run_token)
