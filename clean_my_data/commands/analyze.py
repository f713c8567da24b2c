"""``clean-my-data analyze INPUT [--analysis-id ID] [--inline] [--output FILE]``.

Default: :func:`clean_my_data.analyze_and_commit` (the three downloads staged, then the final
object, its ``downloads`` rows and one outbox record per artifact committed in ONE transaction);
the printed object carries ``pending`` download metadata. ``--inline``:
:func:`clean_my_data.analyze_inline` (downloads as ``content_base64`` in the printed object,
nothing staged, nothing committed, bounded by ``INLINE_MAX_BYTES``).

Bad input is a one-line error and exit 65, with nothing staged or committed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Final

import structlog

from clean_my_data._api._analyze import analyze_and_commit, analyze_inline, validate_analysis_id
from clean_my_data._api._types import FinalObject
from clean_my_data._errors import UsageError
from clean_my_data.progress import TerminalProgress
from outbox.settings import Settings

# Permissions of --output files: rw for everyone the umask allows (tempfile would give 0600).
_OUTPUT_MODE: Final = 0o666 & ~os.umask(os.umask(0o022))

log = structlog.get_logger()


def check_output(path: Path) -> None:
    """Refuse an unwritable ``--output`` before any work is done (nothing staged or committed)."""
    directory = path.parent if str(path.parent) else Path()
    if path.is_dir():
        raise UsageError(f"--output {path}: is a directory")
    if not directory.is_dir():
        raise UsageError(f"--output {path}: the directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise UsageError(f"--output {path}: permission denied")


def write_output_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same directory and a rename."""
    directory = path.parent if str(path.parent) else Path()
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (renamed below, not closed by with)
            "w", encoding="utf-8", dir=directory, prefix=f".{path.name}.", delete=False
        )
    except OSError as exc:
        raise UsageError(f"--output {path}: {exc.strerror or exc}") from None
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), _OUTPUT_MODE)
        os.replace(handle.name, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(handle.name)
        if isinstance(exc, OSError):
            raise UsageError(f"--output {path}: {exc.strerror or exc}") from None
        raise


def emit(final_object: FinalObject, output: Path | None) -> None:
    text = json.dumps(final_object, ensure_ascii=False, allow_nan=False)
    if output is None:
        sys.stdout.write(text)
        sys.stdout.write("\n")
        sys.stdout.flush()
    else:
        write_output_atomically(output, text + "\n")


def run_analyze(args: argparse.Namespace, settings: Settings) -> int:
    if args.analysis_id is not None:
        validate_analysis_id(args.analysis_id, name="--analysis-id")
    output = Path(args.output) if args.output else None
    if output is not None:
        check_output(output)
    terminal = TerminalProgress() if sys.stderr.isatty() else None
    analyse = analyze_inline if args.inline else analyze_and_commit
    try:
        final_object = analyse(
            args.input, analysis_id=args.analysis_id, settings=settings, progress=terminal
        )
    finally:
        if terminal is not None:
            terminal.finish()
    emit(final_object, output)
    log.info(
        "analysis_completed",
        analysis_id=final_object["analysis_id"],
        inline=bool(args.inline),
        execution_time_ms=final_object["execution_time_ms"],
        downloads=len(final_object["report"]["downloads"]),
    )
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "analyze", help="analyse and clean a CSV/XLSX file; print the final object as JSON"
    )
    parser.add_argument("input", metavar="INPUT", help="the CSV or XLSX file to analyse")
    parser.add_argument(
        "--analysis-id",
        metavar="ID",
        help="id of this analysis (default: a new UUID); re-running an id is idempotent",
    )
    parser.add_argument(
        "--inline",
        action="store_true",
        help="downloads as base64 in the printed object; nothing staged or stored",
    )
    parser.add_argument("--output", metavar="FILE", help="write the final object to FILE")
    parser.set_defaults(handler=run_analyze)
