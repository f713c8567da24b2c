"""The ``clean-my-data`` console script: the composition root wiring domain, outbox and relay.

Each sub-command lives in ``clean_my_data/commands/<name>.py`` and exposes
``register(subparsers)``, which adds its parser and sets ``handler`` to a function
``(args, settings) -> int``. Errors become one line on stderr and the exit code of their
public exception (:mod:`clean_my_data._errors`): 0 success, 1 failure found (or not found),
2 usage error, 65 bad input data, 69 database/staging/object store unavailable, 78 configuration
error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from clean_my_data import __version__
from clean_my_data._api._translate import public_error
from clean_my_data._errors import EX_CONFIG
from clean_my_data.logging_setup import configure_logging
from outbox import crashpoints
from outbox.settings import Settings, SettingsError, apply_allocator_defaults

COMMAND_MODULES = (
    "analyze",
    "report",
    "relay",
    "history",
    "requeue",
    "verify",
    "db",
    "purge",
    "submit",
    "worker",
    "token",
    "serve",
)

Handler = Callable[[argparse.Namespace, Settings], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clean-my-data",
        description="Find and fix data-quality problems; deliver artifacts through an outbox.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"clean_my_data.commands.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    apply_allocator_defaults()  # before build_parser imports the commands (and polars)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"clean-my-data: configuration error: {exc}", file=sys.stderr)
        return EX_CONFIG
    configure_logging(settings.log_format, settings.log_level)
    try:
        crashpoints.arm(settings.crash_point)
    except crashpoints.UnknownCrashPointError as exc:
        print(f"clean-my-data: configuration error: {exc}", file=sys.stderr)
        return EX_CONFIG
    handler: Handler = args.handler
    try:
        return handler(args, settings)
    except Exception as exc:
        # e.g. bad input, access denied, server gone, lock wait timeout: one line, no traceback.
        public = public_error(exc)
        if public is None:
            raise
        print(f"clean-my-data: error: {public}", file=sys.stderr)
        return public.exit_code
    except KeyboardInterrupt:
        print("clean-my-data: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
