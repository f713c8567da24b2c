"""Reconcile the database, the staging directory and the object store (``clean-my-data verify``).

Checks the six invariants of docs/guide/auditing.md ("What verify checks") and returns one
:class:`Problem` per violation. The store checked is this process's ``ARTIFACT_STORE_URL`` (named
in the result); a row recorded at a path outside it is a problem of its own
(``object_in_other_store``). Objects with no downloads row that the history says an upload wrote
(superseded by a re-run, even when the upload's flip was lost) are counted, not reported;
:func:`delete_superseded_objects` clears them.

This module stays in the relay layer: it reads the object store through ``relay.stores``, which
the outbox layer may not import.

Strategy for 100,000 downloads (documented in docs/guide/auditing.md):

- The object store is listed once, in pages, under our key prefix (``{prefix/}{env}/{tool}/``)
  into a dict; the ``downloads`` table is read in keyset chunks and matched against it. Sizes
  come from the listing, so a missing or truncated object costs no request.
- sha256 is only available from a HEAD (object metadata). Without ``--deep`` an uploaded object
  is HEADed only when the listing cannot vouch for it: the listing has no sha256 and its ETag
  differs from the ETag the relay recorded in the history for that upload (or none was
  recorded), or the object is missing from the listing (it may have appeared since the listing).
  ``--deep`` HEADs every uploaded object, concurrently.
- Pending downloads are few in steady state: their staged files are hashed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
import structlog
from sqlalchemy import RowMapping
from sqlalchemy.engine import Engine

from domain.model import TOOL_NAME
from outbox import tables as t
from outbox.audit.staged import StagedState, check_staged_file
from outbox.clock import utcnow
from outbox.keys import build_object_key
from outbox.settings import Settings
from outbox.staging import VOLUME_MARKER
from relay.stores.base import ObjectInfo, ObjectStore

log = structlog.get_logger()

# Fields of a staged report entry that must equal the downloads row.
REPORT_FIELDS: Final = ("file_name", "format", "size_bytes", "sha256", "s3_path", "status")
_SUCCESS_OUTCOMES: Final = (t.OUTCOME_UPLOADED, t.OUTCOME_ALREADY_PRESENT)


@dataclass(frozen=True)
class Problem:
    invariant: int  # 1..6, docs/guide/auditing.md "What verify checks"
    code: str  # stable snake_case, e.g. "object_missing"
    message: str  # one line, names the download/object/row
    download_id: str | None = None
    analysis_id: str | None = None

    def line(self) -> str:
        return f"invariant {self.invariant} {self.code}: {self.message}"

    def as_json(self) -> dict[str, object]:
        return {
            "invariant": self.invariant,
            "code": self.code,
            "message": self.message,
            "download_id": self.download_id,
            "analysis_id": self.analysis_id,
        }


@dataclass(frozen=True)
class VerifyOptions:
    deep: bool = False  # HEAD every uploaded object (sha256 from metadata)
    chunk_size: int = 2000  # downloads / reports / outbox rows read per query
    head_concurrency: int = 8


@dataclass
class VerifyStats:
    downloads: int = 0
    reports: int = 0
    objects_listed: int = 0
    heads: int = 0
    staged_files_hashed: int = 0
    staged_files_scanned: int = 0
    finished_outbox_rows: int = 0
    other_volume_skipped: int = 0
    superseded_objects: int = 0

    def as_json(self) -> dict[str, int]:
        return dict(vars(self))


@dataclass(frozen=True)
class VerifyResult:
    problems: tuple[Problem, ...]
    stats: VerifyStats = field(default_factory=VerifyStats)
    store: str = ""  # the store checked: where its keys start (``s3://bucket/``)

    @property
    def consistent(self) -> bool:
        return not self.problems


def key_prefix(settings: Settings) -> str:
    """``{prefix/}{env}/{tool}/``: where our objects live (keys built by ``outbox.keys``)."""
    sample = build_object_key(
        settings.store.prefix, settings.app_env, TOOL_NAME, "a", datetime(2000, 1, 1), "f.csv"
    )
    return sample.rsplit("/", 2)[0] + "/"


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class _WrittenBy:
    """The upload attempt the history says wrote an object."""

    outbox_id: int
    download_id: str
    analysis_id: str
    attempt: int


class _Verifier:
    def __init__(
        self,
        engine: Engine,
        store: ObjectStore,
        settings: Settings,
        options: VerifyOptions,
        now: datetime,
    ) -> None:
        self.engine = engine
        self.store = store
        self.settings = settings
        self.options = options
        self.now = now
        self.problems: list[Problem] = []
        self.stats = VerifyStats()
        self.superseded: dict[str, _WrittenBy] = {}  # object key -> the attempt that wrote it

    def report(self, problem: Problem) -> None:
        self.problems.append(problem)

    # --- invariants 1 (objects, orphan objects) and 2 (pending) ---------------------------

    def check_downloads_and_objects(self) -> None:
        listing: dict[str, ObjectInfo] = {}
        for info in self.store.iter_objects(key_prefix(self.settings)):
            listing[info.key] = info
        self.stats.objects_listed = len(listing)
        d = t.downloads
        last = ""
        while True:
            with self.engine.connect() as conn:
                rows = (
                    conn.execute(
                        sa.select(d)
                        .where(d.c.download_id > last)
                        .order_by(d.c.download_id)
                        .limit(self.options.chunk_size)
                    )
                    .mappings()
                    .all()
                )
                if not rows:
                    break
                ids = [row["download_id"] for row in rows]
                etags = self._recorded_etags(conn, ids)
                live = self._live_outbox_counts(conn, ids)
            self.stats.downloads += len(rows)
            to_head: list[RowMapping] = []
            for row in rows:
                info = listing.pop(row["object_key"], None)  # type: ignore[arg-type]
                if row["status"] == t.UPLOADED:
                    if not self._in_checked_store(row):
                        continue
                    if self._needs_head(row, info, etags.get(row["object_key"])):
                        to_head.append(row)
                elif row["status"] == t.PENDING:
                    self._check_pending(row, live.get(row["download_id"], 0))
            self._head_and_compare(to_head)
            last = ids[-1]
        self._report_orphan_objects(listing)

    def _in_checked_store(self, row: RowMapping) -> bool:
        """The row's s3_path is the contract: one outside this store cannot be checked here."""
        if self.store.location_of(row["object_key"]) == row["s3_path"]:
            return True
        self.report(
            Problem(
                1,
                "object_in_other_store",
                f"download {row['download_id']} is recorded at {row['s3_path']}, outside the "
                f"store checked ({self.store.root_location()}, ARTIFACT_STORE_URL)",
                row["download_id"],
                row["analysis_id"],
            )
        )
        return False

    def _recorded_etags(self, conn: sa.Connection, ids: Sequence[str]) -> dict[str, str]:
        """object_key -> ETag of the latest successful upload of that key in the history."""
        h = t.outbox_attempts
        rows = conn.execute(
            sa.select(h.c.object_key, h.c.etag)
            .where(
                h.c.download_id.in_(ids),
                h.c.event == t.EVENT_UPLOAD,
                h.c.outcome.in_(_SUCCESS_OUTCOMES),
                h.c.etag.is_not(None),
            )
            .order_by(h.c.id)
        ).all()
        return {key: _normalise_etag(etag) for key, etag in rows if key and etag}

    def _live_outbox_counts(self, conn: sa.Connection, ids: Sequence[str]) -> dict[str, int]:
        o = t.outbox
        rows = conn.execute(
            sa.select(o.c.download_id, sa.func.count())
            .where(o.c.download_id.in_(ids), o.c.state == t.OUTBOX_PENDING)
            .group_by(o.c.download_id)
        ).all()
        return {download_id: int(count) for download_id, count in rows}

    def _needs_head(
        self, row: RowMapping, info: ObjectInfo | None, recorded_etag: str | None
    ) -> bool:
        """Decide from the listing; True when only a HEAD can tell."""
        if info is None or self.options.deep:
            return True
        if info.size_bytes != row["size_bytes"]:
            self._report_object(row, "object_size_mismatch", f"size {info.size_bytes}")
            return False
        if info.sha256 is not None:
            if info.sha256.lower() != row["sha256"]:
                self._report_object(row, "object_sha256_mismatch", f"sha256 {info.sha256}")
            return False
        listed_etag = _normalise_etag(info.etag) if info.etag else None
        return listed_etag is None or recorded_etag is None or listed_etag != recorded_etag

    def _head_and_compare(self, rows: Sequence[RowMapping]) -> None:
        if not rows:
            return
        keys = [row["object_key"] for row in rows]
        with ThreadPoolExecutor(max_workers=self.options.head_concurrency) as pool:
            heads = list(pool.map(self.store.head, keys))
        self.stats.heads += len(keys)
        for row, info in zip(rows, heads, strict=True):
            if info is None:
                self._report_object(row, "object_missing", "no object")
            elif info.size_bytes != row["size_bytes"]:
                self._report_object(row, "object_size_mismatch", f"size {info.size_bytes}")
            elif info.sha256 is None:
                self._report_object(
                    row, "object_sha256_unknown", "object has no sha256 metadata (overwritten?)"
                )
            elif info.sha256.lower() != row["sha256"]:
                self._report_object(row, "object_sha256_mismatch", f"sha256 {info.sha256}")

    def _report_object(self, row: RowMapping, code: str, found: str) -> None:
        expected = f"size {row['size_bytes']} sha256 {row['sha256']}"
        self.report(
            Problem(
                1,
                code,
                f"download {row['download_id']} is uploaded but {row['s3_path']} has {found} "
                f"(expected {expected})",
                row["download_id"],
                row["analysis_id"],
            )
        )

    def _check_pending(self, row: RowMapping, live_rows: int) -> None:
        download_id = row["download_id"]
        found: list[Problem] = []
        if live_rows == 0:
            found.append(
                Problem(
                    2,
                    "pending_without_outbox_row",
                    f"download {download_id} is pending but has no pending outbox record",
                    download_id,
                    row["analysis_id"],
                )
            )
        elif live_rows > 1:
            found.append(
                Problem(
                    2,
                    "pending_with_duplicate_outbox_rows",
                    f"download {download_id} has {live_rows} pending outbox records",
                    download_id,
                    row["analysis_id"],
                )
            )
        if row["staging_volume"] != self.settings.staging_volume_id:
            self.stats.other_volume_skipped += 1
        else:
            path = self.settings.staging_dir / row["staged_path"]
            state = check_staged_file(path, int(row["size_bytes"]), row["sha256"])
            self.stats.staged_files_hashed += 1
            if state is not StagedState.OK:
                found.append(
                    Problem(
                        2,
                        f"staged_file_{state.value}",
                        f"download {download_id} is pending but its staged file {path} is "
                        f"{state.value.replace('_', ' ')}",
                        download_id,
                        row["analysis_id"],
                    )
                )
        if found and self._unchanged(row):
            self.problems.extend(found)

    def _unchanged(self, row: RowMapping) -> bool:
        """False when the row moved on since it was read (the relay uploaded it meanwhile,
        deleting its staged file; a re-run restaged it): then it is not a problem."""
        d = t.downloads
        with self.engine.connect() as conn:
            now = conn.execute(
                sa.select(d.c.status, d.c.sha256, d.c.staged_path, d.c.updated_at).where(
                    d.c.download_id == row["download_id"]
                )
            ).first()
        return now is not None and tuple(now) == (
            row["status"],
            row["sha256"],
            row["staged_path"],
            row["updated_at"],
        )

    def _report_orphan_objects(self, leftovers: dict[str, ObjectInfo]) -> None:
        """Objects with no downloads row. An object the history says was written (a successful
        upload, or an upload whose flip was lost to a re-run: ``lease_lost`` with no error) is
        a superseded object, not an orphan; ``delete_superseded_objects`` clears those."""
        keys = sorted(leftovers)
        h = t.outbox_attempts
        written = sa.or_(
            h.c.outcome.in_(_SUCCESS_OUTCOMES),
            sa.and_(h.c.outcome == t.OUTCOME_LEASE_LOST, h.c.error_class.is_(None)),
        )
        for chunk in _chunks(keys, self.options.chunk_size):
            with self.engine.connect() as conn:
                for row in conn.execute(
                    sa.select(
                        h.c.object_key, h.c.outbox_id, h.c.download_id, h.c.analysis_id, h.c.attempt
                    )
                    .where(h.c.object_key.in_(chunk), h.c.event == t.EVENT_UPLOAD, written)
                    .order_by(h.c.id)
                ):
                    self.superseded[row.object_key] = _WrittenBy(
                        int(row.outbox_id), row.download_id, row.analysis_id, int(row.attempt)
                    )
        self.stats.superseded_objects = len(self.superseded)
        for key in keys:
            if key not in self.superseded:
                self.report(
                    Problem(
                        1,
                        "orphan_object",
                        f"object {self.store.location_of(key)} has no downloads row",
                    )
                )

    # --- invariant 3 ---------------------------------------------------------------------

    def check_reports(self) -> None:
        r = t.analysis_reports
        entries = sa.func.coalesce(
            sa.func.json_extract(r.c.report, "$.report.downloads"),
            sa.func.json_extract(r.c.report, "$.downloads"),
        )
        last = 0
        while True:
            with self.engine.connect() as conn:
                reports = conn.execute(
                    sa.select(r.c.id, r.c.analysis_id, entries)
                    .where(r.c.id > last)
                    .order_by(r.c.id)
                    .limit(self.options.chunk_size)
                ).all()
                if not reports:
                    return
                ids = [analysis_id for _id, analysis_id, _e in reports]
                d = t.downloads
                rows: dict[str, dict[str, RowMapping]] = {}
                for row in (
                    conn.execute(sa.select(d).where(d.c.analysis_id.in_(ids))).mappings().all()
                ):
                    rows.setdefault(row["analysis_id"], {})[row["download_id"]] = row
            self.stats.reports += len(reports)
            for _id, analysis_id, raw in reports:
                self._compare_report(analysis_id, _parse_entries(raw), rows.get(analysis_id, {}))
            last = int(reports[-1][0])

    def _compare_report(
        self,
        analysis_id: str,
        entries: list[dict[str, Any]],
        rows: Mapping[str, RowMapping],
    ) -> None:
        staged = [e for e in entries if "content_base64" not in e]  # inline entries: no rows
        seen: set[str] = set()
        for entry in staged:
            download_id = str(entry.get("download_id"))
            seen.add(download_id)
            row = rows.get(download_id)
            if row is None:
                self.report(
                    Problem(
                        3,
                        "report_entry_without_row",
                        f"analysis {analysis_id}: report lists download {download_id} "
                        "but no downloads row exists",
                        download_id,
                        analysis_id,
                    )
                )
                continue
            differing = [
                f"{name} {entry.get(name)!r} != {row[name]!r}"
                for name in REPORT_FIELDS
                if entry.get(name) != row[name]
            ]
            if differing:
                self.report(
                    Problem(
                        3,
                        "report_entry_differs",
                        f"analysis {analysis_id}: report entry for download {download_id} "
                        f"disagrees with its row: {'; '.join(differing)}",
                        download_id,
                        analysis_id,
                    )
                )
        for download_id in sorted(set(rows) - seen):
            self.report(
                Problem(
                    3,
                    "row_missing_from_report",
                    f"analysis {analysis_id}: download {download_id} has a row but no entry "
                    "in the report",
                    download_id,
                    analysis_id,
                )
            )

    # --- invariant 4 ---------------------------------------------------------------------

    def check_staging(self) -> None:
        root = self.settings.staging_dir
        if not root.is_dir():
            return
        d, o = t.downloads, t.outbox
        with self.engine.connect() as conn:
            live_paths = set(
                conn.execute(
                    sa.select(d.c.staged_path)
                    .join(o, o.c.download_id == d.c.download_id)
                    .where(o.c.state == t.OUTBOX_PENDING)  # any volume: the sweep keeps those
                ).scalars()
            )
        now_epoch = self.now.replace(tzinfo=UTC).timestamp()
        cutoff = now_epoch - self.settings.relay_orphan_grace_seconds
        for path, mtime in _walk_files(root):
            self.stats.staged_files_scanned += 1
            relative = path.relative_to(root).as_posix()
            if relative == VOLUME_MARKER:
                continue
            if mtime < cutoff and relative not in live_paths:
                age = int(now_epoch - mtime)
                self.report(
                    Problem(
                        4,
                        "staged_file_orphaned",
                        f"staged file {path} is {age}s old and has no pending outbox record "
                        f"(grace {self.settings.relay_orphan_grace_seconds}s)",
                    )
                )

    # --- invariant 5 ---------------------------------------------------------------------

    def check_leases(self) -> None:
        o = t.outbox
        limit = self.now - timedelta(seconds=self.settings.relay_lease_seconds)
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    o.c.id, o.c.download_id, o.c.analysis_id, o.c.lease_owner, o.c.lease_expires_at
                )
                .where(
                    o.c.state == t.OUTBOX_PENDING,
                    o.c.lease_token.is_not(None),
                    o.c.lease_expires_at < limit,
                )
                .order_by(o.c.id)
            ).all()
        for outbox_id, download_id, analysis_id, owner, expires in rows:
            expired_for = int((self.now - expires).total_seconds())
            self.report(
                Problem(
                    5,
                    "lease_expired",
                    f"outbox record {outbox_id} (download {download_id}) is held by {owner} "
                    f"under a lease expired {expired_for}s ago (lease period "
                    f"{self.settings.relay_lease_seconds}s)",
                    download_id,
                    analysis_id,
                )
            )

    # --- invariant 6 (history) -----------------------------------------------------------

    def check_history(self) -> None:
        o, h = t.outbox, t.outbox_attempts
        finished = (t.OUTBOX_DONE, t.OUTBOX_DEAD, t.OUTBOX_SUPERSEDED)
        last = 0
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    sa.select(o.c.id, o.c.download_id, o.c.analysis_id, o.c.state, o.c.attempts)
                    .where(o.c.id > last, o.c.state.in_(finished))
                    .order_by(o.c.id)
                    .limit(self.options.chunk_size)
                ).all()
                if not rows:
                    return
                ids = [row[0] for row in rows]
                outcomes: dict[int, dict[tuple[str, str], int]] = {}
                for outbox_id, event, outcome, count in conn.execute(
                    sa.select(h.c.outbox_id, h.c.event, h.c.outcome, sa.func.count())
                    .where(h.c.outbox_id.in_(ids))
                    .group_by(h.c.outbox_id, h.c.event, h.c.outcome)
                ).all():
                    outcomes.setdefault(int(outbox_id), {})[(event, outcome)] = int(count)
            self.stats.finished_outbox_rows += len(rows)
            for row in rows:
                self._check_row_history(row, outcomes.get(int(row[0]), {}))
            last = int(ids[-1])

    def _check_row_history(self, row: sa.Row[Any], outcomes: Mapping[tuple[str, str], int]) -> None:
        outbox_id, download_id, analysis_id, state, attempts = row
        uploads = sum(n for (event, _o), n in outcomes.items() if event == t.EVENT_UPLOAD)
        wanted: dict[str, tuple[tuple[str, str], ...]] = {
            t.OUTBOX_DONE: tuple((t.EVENT_UPLOAD, oc) for oc in _SUCCESS_OUTCOMES),
            t.OUTBOX_DEAD: ((t.EVENT_UPLOAD, t.OUTCOME_FAILED),),
            t.OUTBOX_SUPERSEDED: ((t.EVENT_SUPERSEDE, t.OUTCOME_SUPERSEDED),),
        }
        missing: list[str] = []
        if not any(outcomes.get(pair, 0) for pair in wanted[state]):
            missing.append(f"no history row for its final outcome ({state})")
        if uploads < attempts:
            missing.append(f"{attempts} attempts counted but {uploads} in the history")
        if missing:
            self.report(
                Problem(
                    6,
                    "attempts_missing_from_history",
                    f"outbox record {outbox_id} (download {download_id}): {'; '.join(missing)}",
                    download_id,
                    analysis_id,
                )
            )


def _normalise_etag(etag: str) -> str:
    return etag.strip().strip('"').lower()


def _parse_entries(raw: object) -> list[dict[str, Any]]:
    if raw is None:
        return []
    value = json.loads(raw) if isinstance(raw, str | bytes) else raw
    if not isinstance(value, list):
        return []
    return [entry for entry in value if isinstance(entry, dict)]


def _walk_files(root: Path) -> Iterable[tuple[Path, float]]:
    """Plain files directly in the staging directory (where staging writes; as the sweep)."""
    with os.scandir(root) as entries:
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False):
                    yield Path(entry.path), entry.stat(follow_symlinks=False).st_mtime
            except FileNotFoundError:
                continue  # removed while we looked (uploaded meanwhile)


def verify(
    engine: Engine,
    store: ObjectStore,
    settings: Settings,
    options: VerifyOptions | None = None,
    now: datetime | None = None,
) -> VerifyResult:
    """Run every check; problems in invariant order."""
    verifier = _Verifier(engine, store, settings, options or VerifyOptions(), now or utcnow())
    verifier.check_downloads_and_objects()
    verifier.check_reports()
    verifier.check_staging()
    verifier.check_leases()
    verifier.check_history()
    problems = tuple(sorted(verifier.problems, key=lambda p: p.invariant))
    log.info(
        "verify_finished",
        store=store.root_location(),
        problems=len(problems),
        **verifier.stats.as_json(),
    )
    return VerifyResult(problems, verifier.stats, store.root_location())


def delete_superseded_objects(
    engine: Engine,
    store: ObjectStore,
    settings: Settings,
    *,
    actor: str,
    reason: str,
    options: VerifyOptions | None = None,
) -> list[str]:
    """Delete the objects verify counts as superseded (no downloads row; the history says an
    upload attempt wrote them), each with a history row (event ``delete_object``, outcome
    ``deleted``, the operator and the reason). An object a downloads row refers to by the time
    it is reached is kept. Returns the locations deleted."""
    verifier = _Verifier(engine, store, settings, options or VerifyOptions(), utcnow())
    verifier.check_downloads_and_objects()
    deleted: list[str] = []
    d, h = t.downloads, t.outbox_attempts
    for key, writer in sorted(verifier.superseded.items()):
        with engine.begin() as conn:
            if conn.execute(sa.select(d.c.download_id).where(d.c.object_key == key)).first():
                continue  # a re-run committed these bytes again meanwhile
            started = utcnow()
            store.delete(key)
            conn.execute(
                h.insert().values(
                    outbox_id=writer.outbox_id,
                    download_id=writer.download_id,
                    analysis_id=writer.analysis_id,
                    event=t.EVENT_DELETE_OBJECT,
                    attempt=writer.attempt,
                    actor=actor[:128],
                    started_at=started,
                    duration_ms=int((utcnow() - started).total_seconds() * 1000),
                    bytes=0,
                    outcome=t.OUTCOME_DELETED,
                    object_key=key,
                    reason=reason,
                    recorded_at=utcnow(),
                )
            )
        deleted.append(store.location_of(key))
        log.info("superseded_object_deleted", object_key=key, actor=actor)
    return deleted
