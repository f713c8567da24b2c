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
import contextlib
import importlib
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import NoReturn

import structlog

from clean_my_data import __version__
from clean_my_data._api._translate import public_error
from clean_my_data._errors import EX_CONFIG, ConfigurationError
from clean_my_data.logging_setup import configure_logging
from domain.display import escape_name, mask_credentials
from outbox import crashpoints
from outbox.settings import (
    ALLOCATOR_DEFAULTS,
    ARROW_POOL_VARIABLE,
    Settings,
    SettingsError,
    apply_allocator_defaults,
)

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

log = structlog.get_logger()

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
    """Run one command. Whatever happens, a user sees at most one line on stderr per failure
    (control characters escaped, credentials masked) and a non-zero exit; an unexpected error
    also leaves a ``command_crashed`` log event with its detail."""
    try:
        return _run(argv)
    except KeyboardInterrupt:
        print("clean-my-data: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last guard: no traceback reaches a user
        return _report_crash(exc)


def use_arrow_pool(name: str) -> None:
    """Make the pool called ``name`` pyarrow's default (a build without it keeps its own)."""
    import pyarrow as pa

    with contextlib.suppress(NotImplementedError):  # ArrowNotImplementedError derives from it
        pa.set_memory_pool(getattr(pa, f"{name}_memory_pool")())


def _run(argv: Sequence[str] | None) -> int:
    # before build_parser imports the commands (and polars)
    if ARROW_POOL_VARIABLE in apply_allocator_defaults():
        use_arrow_pool(ALLOCATOR_DEFAULTS[ARROW_POOL_VARIABLE])
    configure_logging()  # until the settings say otherwise (a crash below is logged)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        _say(f"configuration error: {exc}")
        return EX_CONFIG
    configure_logging(settings.log_format, settings.log_level)
    try:
        crashpoints.arm(settings.crash_point)
    except crashpoints.UnknownCrashPointError as exc:
        _say(f"configuration error: {exc}")
        return EX_CONFIG
    handler: Handler = args.handler
    try:
        return handler(args, settings)
    except Exception as exc:
        # e.g. bad input, access denied, server gone, lock wait timeout: one line, no traceback.
        public = public_error(exc)
        if public is None:
            raise
        kind = "configuration error" if isinstance(public, ConfigurationError) else "error"
        _say(f"{kind}: {public}")
        return public.exit_code


def _say(message: str) -> None:
    """One line on stderr: whitespace runs collapsed, controls escaped, credentials masked."""
    text = " ".join(mask_credentials(message).split())
    print(f"clean-my-data: {escape_name(text)}", file=sys.stderr)


def _report_crash(exc: Exception) -> int:
    detail = " ".join(mask_credentials(str(exc)).split())
    frames = [
        f"{frame.filename}:{frame.lineno} {frame.name}"
        for frame in traceback.extract_tb(exc.__traceback__)
    ]
    with contextlib.suppress(Exception):
        log.error(
            "command_crashed",
            error_class=type(exc).__name__,
            error=escape_name(detail[:2000]),
            frames=frames[-12:],
        )
    shown = detail if len(detail) <= 300 else detail[:300] + "..."
    _say(f"unexpected error: {type(exc).__name__}: {shown} (details in the log)")
    return 1


def console() -> NoReturn:
    """The ``clean-my-data`` console script: :func:`main`, then the exit. A failed command exits
    at once, without the interpreter's finalization: a native library's background thread may
    still be parked in the input it was reading (pyarrow's CSV read-ahead after a parse error),
    and tearing the runtime down under it can abort the process ("terminate called", a fatal
    ``PyGILState_Release``) after the one-line error was already printed. Everything the command
    wrote was committed or removed by its own context managers before :func:`main` returned."""
    code = main()
    if code == 0:
        sys.exit(0)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    console()
