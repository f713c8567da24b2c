"""``clean-my-data analyze INPUT [--analysis-id ID] [--inline] [--output FILE]``.

Default (staged): the three downloads are written to ``STAGING_DIR`` by the outbox's staging
sink, then the final object, its ``downloads`` rows and one outbox record per artifact are
committed in ONE transaction (``persist_analysis_report``); the printed object carries
``pending`` download metadata. ``--inline``: the old behaviour: downloads as ``content_base64``
in the printed object, nothing staged, nothing committed (bounded by ``INLINE_MAX_BYTES``).

Bad input is a one-line error and a non-zero exit, with nothing staged or committed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
import structlog

from clean_my_data.progress import TerminalProgress
from domain.downloads.bounded_sink import BoundedMemorySink, InlineLimitError
from domain.errors import InputError, UserFacingError
from domain.pipeline import FinalResult, ProgressFn, run_analysis
from outbox import crashpoints
from outbox.db import open_database
from outbox.persist import persist_analysis_report
from outbox.settings import Settings
from outbox.staging import StagingSink

MAX_ANALYSIS_ID_LENGTH: Final = 128
ANALYSIS_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")

# Permissions of --output files: rw for everyone the umask allows (tempfile would give 0600).
_OUTPUT_MODE: Final = 0o666 & ~os.umask(os.umask(0o022))

log = structlog.get_logger()


class InvalidArgumentError(UserFacingError):
    """A command-line argument is malformed."""


def validate_analysis_id(value: str) -> str:
    """1-128 characters: letters, digits and ``. _ : -``, starting with a letter or digit."""
    if not value:
        raise InvalidArgumentError("--analysis-id is empty")
    if len(value) > MAX_ANALYSIS_ID_LENGTH:
        raise InvalidArgumentError(
            f"--analysis-id is {len(value)} characters long (at most {MAX_ANALYSIS_ID_LENGTH})"
        )
    if not ANALYSIS_ID_PATTERN.fullmatch(value):
        raise InvalidArgumentError(
            "--analysis-id may hold only letters, digits and . _ : - "
            "and must start with a letter or digit"
        )
    return value


def new_analysis_id() -> str:
    return str(uuid.uuid4())


def check_input(path: Path) -> None:
    """Fail early, in one line, on paths the engine could not even open."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied")


def check_output(path: Path) -> None:
    """Refuse an unwritable ``--output`` before any work is done (nothing staged or committed)."""
    directory = path.parent if str(path.parent) else Path()
    if path.is_dir():
        raise InvalidArgumentError(f"--output {path}: is a directory")
    if not directory.is_dir():
        raise InvalidArgumentError(f"--output {path}: the directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise InvalidArgumentError(f"--output {path}: permission denied")


def write_output_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same directory and a rename."""
    directory = path.parent if str(path.parent) else Path()
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (renamed below, not closed by with)
            "w", encoding="utf-8", dir=directory, prefix=f".{path.name}.", delete=False
        )
    except OSError as exc:
        raise InvalidArgumentError(f"--output {path}: {exc.strerror or exc}") from None
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
            raise InvalidArgumentError(f"--output {path}: {exc.strerror or exc}") from None
        raise


def emit(final_object: dict[str, Any], output: Path | None) -> None:
    text = json.dumps(final_object, ensure_ascii=False, allow_nan=False)
    if output is None:
        sys.stdout.write(text)
        sys.stdout.write("\n")
        sys.stdout.flush()
    else:
        write_output_atomically(output, text + "\n")


def _run_inline(
    path: Path, analysis_id: str, settings: Settings, progress: ProgressFn | None
) -> dict[str, Any]:
    size = path.stat().st_size
    if size > settings.inline_max_bytes:
        raise InlineLimitError(
            f"{path.name} is {size:,} bytes; --inline keeps the downloads in memory as base64 "
            f"and is limited to {settings.inline_max_bytes:,} bytes (INLINE_MAX_BYTES); "
            "run without --inline to stage them instead"
        )
    result = run_analysis(
        path,
        analysis_id=analysis_id,
        upload_to_s3=False,
        sink=BoundedMemorySink(settings.inline_max_bytes),
        progress=progress,
    )
    return result.final_object


def _run_staged(
    path: Path,
    analysis_id: str,
    settings: Settings,
    progress: ProgressFn | None,
    *,
    within: Callable[[sa.Connection], None] | None = None,
) -> dict[str, Any]:
    engine = open_database(settings)  # before any work: a missing schema fails fast
    try:
        timestamp = datetime.now(UTC)
        sink = StagingSink(settings, analysis_id, timestamp)
        _ = sink.directory  # a missing STAGING_DIR fails before the analysis
        result: FinalResult
        try:
            result = run_analysis(
                path,
                analysis_id=analysis_id,
                upload_to_s3=True,
                sink=sink,
                progress=progress,
                timestamp=timestamp,
            )
        except BaseException:
            sink.discard()
            raise
        crashpoints.reach(crashpoints.AFTER_STAGING)
        persisted = persist_analysis_report(
            engine, result.final_object, result.artifacts, settings, within=within
        )
        return persisted.final_object
    finally:
        engine.dispose()


def run_analyze(args: argparse.Namespace, settings: Settings) -> int:
    analysis_id = (
        validate_analysis_id(args.analysis_id)
        if args.analysis_id is not None
        else new_analysis_id()
    )
    path = Path(args.input)
    check_input(path)
    output = Path(args.output) if args.output else None
    if output is not None:
        check_output(output)
    terminal = TerminalProgress() if sys.stderr.isatty() else None
    try:
        if args.inline:
            final_object = _run_inline(path, analysis_id, settings, terminal)
        else:
            final_object = _run_staged(path, analysis_id, settings, terminal)
    finally:
        if terminal is not None:
            terminal.finish()
    emit(final_object, output)
    log.info(
        "analysis_completed",
        analysis_id=analysis_id,
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
        help="old behaviour: downloads as base64 in the printed object; nothing staged or stored",
    )
    parser.add_argument("--output", metavar="FILE", help="write the final object to FILE")
    parser.set_defaults(handler=run_analyze)
