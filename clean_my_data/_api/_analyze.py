"""Analyse a file: staged and committed in one transaction, or inline (base64, nothing stored)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa

from clean_my_data._api._settings import resolve_settings
from clean_my_data._api._translate import translated
from clean_my_data._api._types import FinalObject, InTransaction
from clean_my_data._errors import InputError, UsageError
from domain import analysis_id as domain_analysis_id
from domain.choices import DUPLICATE_CHOICES, FORMULA_CHOICES
from domain.downloads.bounded_sink import BoundedMemorySink
from outbox import crashpoints
from outbox.db import open_database
from outbox.persist import persist_analysis_report
from outbox.settings import Settings
from outbox.staging import StagingSink

if TYPE_CHECKING:
    from domain.engine import EngineOptions
    from domain.engine import ProgressFn as EngineProgressFn
    from domain.pipeline import AnalysisLike, AnalyzeFn, ProgressFn


def validate_analysis_id(value: str, *, name: str = "the analysis id") -> str:
    """``value`` when it follows the one analysis-id rule (:mod:`domain.analysis_id`); else
    :class:`UsageError` (``name`` says which argument it was)."""
    try:
        return domain_analysis_id.validate_analysis_id(value, name=name)
    except domain_analysis_id.InvalidAnalysisIdError as exc:
        raise UsageError(str(exc)) from None


def _analysis_id(value: str | None) -> str:
    return str(uuid.uuid4()) if value is None else validate_analysis_id(value)


def check_input(path: Path) -> None:
    """Fail early, in one line, on paths the engine could not even open."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied")


def engine_options(
    settings: Settings, duplicates: str | None = None, formulas: str | None = None
) -> EngineOptions:
    """The engine's cleaning choices: the arguments, else the settings."""
    for value, choices, name in (
        (duplicates, DUPLICATE_CHOICES, "duplicates"),
        (formulas, FORMULA_CHOICES, "formulas"),
    ):
        if value is not None and value not in choices:
            raise UsageError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    from domain.engine import EngineOptions  # polars: loaded on first use, not on import

    return EngineOptions(
        duplicates=duplicates or settings.duplicates_policy,
        formula_cells=formulas or settings.formula_cells,
    )


def _analyzer(options: EngineOptions) -> AnalyzeFn:
    def analyze(
        path: Path, *, display_name: str | None = None, progress: EngineProgressFn | None = None
    ) -> AnalysisLike:
        from domain.engine import analyze_input

        return analyze_input(path, display_name=display_name, progress=progress, options=options)

    return analyze


def _final(final_object: dict[str, Any]) -> FinalObject:
    return cast(FinalObject, final_object)


def analyze_and_commit(
    path: str | os.PathLike[str],
    *,
    analysis_id: str | None = None,
    settings: Settings | None = None,
    engine: sa.Engine | None = None,
    in_transaction: InTransaction | None = None,
    progress: ProgressFn | None = None,
    duplicates: str | None = None,
    formulas: str | None = None,
) -> FinalObject:
    """Analyse and clean ``path`` (CSV or XLSX), stage its downloads in ``STAGING_DIR``,
    then commit the final object, one ``downloads`` row and one outbox record per download in
    ONE transaction. Returns the final object as committed (download entries ``pending``, or
    as they were when a re-run of the same ``analysis_id`` produced the same bytes).

    ``analysis_id``: default a new UUID; re-running an id is idempotent. ``settings``: default
    :meth:`Settings.from_env`. ``engine``: a SQLAlchemy engine on the migrated database
    (default: one opened from ``settings`` and disposed on return; a given engine is not
    disposed). ``in_transaction(connection)``: extra work that commits or rolls back with the
    analysis, called after the analysis' rows are written and before COMMIT; it may run more
    than once (a deadlock retries the whole transaction), and when it raises, nothing is
    committed, the staged files are removed and its exception propagates unchanged.
    ``progress(phase, done, total)``: optional progress reports. ``duplicates`` (``auto`` |
    ``keep`` | ``drop``) and ``formulas`` (``keep`` | ``neutralise``): the cleaning choices,
    default ``DUPLICATES_POLICY`` and ``FORMULA_CELLS``.

    Raises :class:`InputError` (the file cannot be analysed), :class:`UsageError` (malformed
    ``analysis_id`` or choice), :class:`ConfigurationError`, :class:`DatabaseError`,
    :class:`StorageError`. Nothing stays staged or committed when it raises.
    """
    from domain.pipeline import run_analysis  # polars: loaded on first use, not on import

    with translated():
        resolved = resolve_settings(settings)
        chosen_id = _analysis_id(analysis_id)
        analyze_fn = _analyzer(engine_options(resolved, duplicates, formulas))
        source = Path(path)
        check_input(source)
        own_engine = engine is None
        active = open_database(resolved) if engine is None else engine  # fails fast on schema
        try:
            timestamp = datetime.now(UTC)
            sink = StagingSink(resolved, chosen_id, timestamp)
            _ = sink.directory  # a missing STAGING_DIR fails before the analysis
            try:
                result = run_analysis(
                    source,
                    analysis_id=chosen_id,
                    inline=False,
                    sink=sink,
                    progress=progress,
                    timestamp=timestamp,
                    analyze=analyze_fn,
                )
            except BaseException:
                sink.discard()
                raise
            crashpoints.reach(crashpoints.AFTER_STAGING)
            persisted = persist_analysis_report(
                active,
                result.final_object,
                result.artifacts,
                resolved,
                in_transaction=in_transaction,
            )
            return _final(persisted.final_object)
        finally:
            if own_engine:
                active.dispose()


def analyze_inline(
    path: str | os.PathLike[str],
    *,
    analysis_id: str | None = None,
    settings: Settings | None = None,
    progress: ProgressFn | None = None,
    duplicates: str | None = None,
    formulas: str | None = None,
) -> FinalObject:
    """Analyse and clean ``path`` and return the final object with each download's bytes as
    ``content_base64``; nothing is staged or committed, no database is needed. Bounded by
    ``INLINE_MAX_BYTES`` (the input's size and the downloads held in memory). ``duplicates``
    and ``formulas``: as for :func:`analyze_and_commit`.

    Raises :class:`InputError` (the file cannot be analysed, or it or its downloads exceed
    ``INLINE_MAX_BYTES``), :class:`UsageError` (malformed ``analysis_id``),
    :class:`ConfigurationError`.
    """
    from domain.pipeline import run_analysis  # polars: loaded on first use, not on import

    with translated():
        resolved = resolve_settings(settings)
        chosen_id = _analysis_id(analysis_id)
        analyze_fn = _analyzer(engine_options(resolved, duplicates, formulas))
        source = Path(path)
        check_input(source)
        size = source.stat().st_size
        if size > resolved.inline_max_bytes:
            raise InputError(
                f"{source.name} is {size:,} bytes; the inline path keeps the downloads in memory "
                f"as base64 and is limited to {resolved.inline_max_bytes:,} bytes "
                "(INLINE_MAX_BYTES); stage and commit it instead"
            )
        result = run_analysis(
            source,
            analysis_id=chosen_id,
            inline=True,
            sink=BoundedMemorySink(resolved.inline_max_bytes),
            progress=progress,
            analyze=analyze_fn,
        )
        return _final(result.final_object)


def analyze(
    path: str | os.PathLike[str],
    *,
    upload_to_s3: bool = True,
    analysis_id: str | None = None,
    settings: Settings | None = None,
    progress: ProgressFn | None = None,
) -> FinalObject:
    """``upload_to_s3=True``: :func:`analyze_and_commit` (the downloads reach the object store
    through the outbox); ``False``: :func:`analyze_inline`. Raises what they raise."""
    if upload_to_s3:
        return analyze_and_commit(
            path, analysis_id=analysis_id, settings=settings, progress=progress
        )
    return analyze_inline(path, analysis_id=analysis_id, settings=settings, progress=progress)
