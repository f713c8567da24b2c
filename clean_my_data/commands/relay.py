"""``clean-my-data relay [--once]``: the sidecar that uploads staged artifacts."""

from __future__ import annotations

import argparse

from outbox.settings import Settings
from relay.daemon import run_daemon, run_once


def run_relay(args: argparse.Namespace, settings: Settings) -> int:
    if args.once:
        return run_once(settings)
    return run_daemon(settings)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "relay", help="upload staged artifacts and flip download statuses (runs until SIGTERM)"
    )
    parser.add_argument(
        "--once", action="store_true", help="process everything due now, then exit 0"
    )
    parser.set_defaults(handler=run_relay)
