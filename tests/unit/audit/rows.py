"""Seed realistic rows for the audit tests: reports, downloads, outbox records, history,
staged files and objects, built on ``outbox.tables`` (shared by unit and integration tests)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from domain.artifacts import derive_download_id
from domain.model import TOOL_NAME
from outbox import tables as t
from outbox.clock import utcnow
from outbox.keys import build_object_key
from outbox.settings import Settings
from relay.stores.base import ObjectInfo, ObjectStore, UploadRequest, UploadResult

FORMATS = {"csv": "cleaned.csv", "xlsx": "report.xlsx", "json": "report.json"}


class FakeStore(ObjectStore):
    """A dict-backed object store: listing carries size and an MD5-like ETag, HEAD adds sha256."""

    def __init__(self, bucket: str = "bucket", *, list_etags: bool = True) -> None:
        self.bucket = bucket
        self.objects: dict[str, tuple[bytes, str | None]] = {}  # key -> (bytes, sha256 metadata)
        self.list_etags = list_etags
        self.heads: list[str] = []

    @staticmethod
    def etag_of(content: bytes) -> str:
        return '"' + hashlib.md5(content).hexdigest() + '"'

    def put(self, key: str, content: bytes, *, sha256_metadata: bool = True) -> str:
        sha = hashlib.sha256(content).hexdigest() if sha256_metadata else None
        self.objects[key] = (content, sha)
        return self.etag_of(content)

    def upload(self, request: UploadRequest) -> UploadResult:
        content = request.path.read_bytes()
        etag = self.put(request.key, content)
        return UploadResult(request.key, etag, len(content), created=True)

    def head(self, key: str) -> ObjectInfo | None:
        self.heads.append(key)
        if key not in self.objects:
            return None
        content, sha = self.objects[key]
        return ObjectInfo(key, len(content), sha, self.etag_of(content))

    def iter_objects(self, prefix: str) -> Iterator[ObjectInfo]:
        for key in sorted(self.objects):
            if key.startswith(prefix):
                content, _sha = self.objects[key]
                etag = self.etag_of(content) if self.list_etags else None
                yield ObjectInfo(key, len(content), None, etag)

    def presign_get(self, key: str, ttl_seconds: int) -> str:
        return self.location_of(key)

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def location_of(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


@dataclass
class Seeded:
    download_id: str
    analysis_id: str
    object_key: str
    staged_path: str
    content: bytes
    outbox_id: int | None = None


@dataclass
class Seeder:
    engine: sa.Engine
    settings: Settings
    store: ObjectStore
    now: datetime = field(default_factory=utcnow)

    def add_report(self, analysis_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(t.analysis_reports).values(
                    analysis_id=analysis_id,
                    tool=TOOL_NAME,
                    status="success",
                    timestamp=self.now,
                    execution_time_ms=12,
                    report={
                        "analysis_id": analysis_id,
                        "tool": TOOL_NAME,
                        "status": "success",
                        "report": {"alerts": [], "downloads": []},
                    },
                    created_at=self.now,
                    updated_at=self.now,
                )
            )

    def add_uploaded(self, analysis_id: str, fmt: str = "csv") -> Seeded:
        """A download the relay finished: uploaded, its object in the store, its outbox row done,
        its one successful attempt in the history, no staged file left."""
        return self.add_download(
            analysis_id,
            fmt,
            status=t.UPLOADED,
            staged=False,
            outbox_state=t.OUTBOX_DONE,
            uploaded_to_store=True,
            attempts=1,
        )

    def add_download(
        self,
        analysis_id: str,
        fmt: str = "csv",
        *,
        content: bytes | None = None,
        status: str = t.PENDING,
        staged: bool = True,
        outbox_state: str | None = t.OUTBOX_PENDING,
        uploaded_to_store: bool = False,
        attempts: int = 0,
    ) -> Seeded:
        """A downloads row (+ report entry), optionally its staged file, outbox row, object,
        and for done rows the successful attempt in the history."""
        body = content if content is not None else f"{analysis_id},{fmt}\n1,2\n".encode()
        sha = hashlib.sha256(body).hexdigest()
        download_id = derive_download_id(analysis_id, fmt)
        file_name = FORMATS[fmt]
        key = build_object_key(
            self.settings.store.prefix,
            self.settings.app_env,
            TOOL_NAME,
            analysis_id,
            self.now,
            file_name,
            discriminator=sha[:12],
        )
        s3_path = self.store.location_of(key)
        staged_path = f"{download_id}.{uuid.uuid4().hex[:12]}.{fmt}"
        if staged:
            self.settings.staging_dir.mkdir(parents=True, exist_ok=True)
            (self.settings.staging_dir / staged_path).write_bytes(body)
        etag: str | None = None
        if uploaded_to_store:
            etag = self._put_object(key, body, sha)
        row: dict[str, Any] = {
            "download_id": download_id,
            "analysis_id": analysis_id,
            "file_name": file_name,
            "format": fmt,
            "size_bytes": len(body),
            "sha256": sha,
            "s3_path": s3_path,
            "object_key": key,
            "staged_path": staged_path,
            "staging_volume": self.settings.staging_volume_id,
            "status": status,
            "created_at": self.now,
            "updated_at": self.now,
        }
        outbox_id: int | None = None
        with self.engine.begin() as conn:
            conn.execute(sa.insert(t.downloads).values(**row))
            self._append_entry(conn, analysis_id, row)
            if outbox_state is not None:
                outbox_id = self._insert_outbox(conn, row, outbox_state, attempts)
                if outbox_state == t.OUTBOX_DONE:
                    self._insert_attempt(
                        conn,
                        outbox_id,
                        row,
                        attempt=max(attempts, 1),
                        outcome=t.OUTCOME_UPLOADED,
                        etag=etag,
                    )
        return Seeded(download_id, analysis_id, key, staged_path, body, outbox_id)

    def _put_object(self, key: str, body: bytes, sha: str) -> str | None:
        if isinstance(self.store, FakeStore):
            return self.store.put(key, body)
        path = self.settings.staging_dir / f"upload-{uuid.uuid4().hex}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        try:
            result = self.store.upload(
                UploadRequest(key, path, len(body), sha, "text/csv", "x.csv", {})
            )
        finally:
            path.unlink()
        return result.etag

    def _append_entry(self, conn: sa.Connection, analysis_id: str, row: dict[str, Any]) -> None:
        r = t.analysis_reports
        report = conn.execute(
            sa.select(r.c.report).where(r.c.analysis_id == analysis_id)
        ).scalar_one()
        entry = {
            name: row[name]
            for name in (
                "download_id",
                "file_name",
                "format",
                "size_bytes",
                "sha256",
                "s3_path",
                "status",
            )
        }
        report["report"]["downloads"].append(entry)
        conn.execute(sa.update(r).where(r.c.analysis_id == analysis_id).values(report=report))

    def _insert_outbox(
        self, conn: sa.Connection, row: dict[str, Any], state: str, attempts: int
    ) -> int:
        finished = None if state == t.OUTBOX_PENDING else self.now
        result = conn.execute(
            sa.insert(t.outbox).values(
                event_id=str(uuid.uuid4()),
                aggregatetype=t.AGGREGATE_TYPE,
                aggregateid=row["download_id"],
                type=t.EVENT_TYPE_STAGED,
                payload={"download_id": row["download_id"]},
                download_id=row["download_id"],
                analysis_id=row["analysis_id"],
                staging_volume=row["staging_volume"],
                state=state,
                attempts=attempts,
                available_at=self.now,
                created_at=self.now,
                updated_at=self.now,
                finished_at=finished,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def _insert_attempt(
        self,
        conn: sa.Connection,
        outbox_id: int,
        row: dict[str, Any],
        *,
        attempt: int,
        outcome: str,
        etag: str | None = None,
        error_class: str | None = None,
        error_message: str | None = None,
        at: datetime | None = None,
    ) -> None:
        when = at or self.now
        conn.execute(
            sa.insert(t.outbox_attempts).values(
                outbox_id=outbox_id,
                download_id=row["download_id"],
                analysis_id=row["analysis_id"],
                event=t.EVENT_UPLOAD,
                attempt=attempt,
                actor="relay-test:1",
                started_at=when - timedelta(milliseconds=40),
                duration_ms=40,
                bytes=row["size_bytes"] if outcome == t.OUTCOME_UPLOADED else 0,
                outcome=outcome,
                error_class=error_class,
                error_message=error_message,
                object_key=row["object_key"],
                etag=etag,
                recorded_at=when,
            )
        )

    def add_attempt(self, seeded: Seeded, **kwargs: Any) -> None:
        with self.engine.begin() as conn:
            row = dict(
                conn.execute(
                    sa.select(t.downloads).where(t.downloads.c.download_id == seeded.download_id)
                )
                .mappings()
                .one()
            )
            assert seeded.outbox_id is not None
            self._insert_attempt(conn, seeded.outbox_id, row, **kwargs)

    def fail_download(self, seeded: Seeded, error_class: str = "access_denied") -> None:
        """Mark a pending download as the relay does after its last attempt failed."""
        assert seeded.outbox_id is not None
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(t.downloads)
                .where(t.downloads.c.download_id == seeded.download_id)
                .values(status=t.UPLOAD_FAILED, last_error=f"{error_class}: denied")
            )
            conn.execute(
                sa.update(t.outbox)
                .where(t.outbox.c.id == seeded.outbox_id)
                .values(state=t.OUTBOX_DEAD, finished_at=self.now, last_error_class=error_class)
            )
            r = t.analysis_reports
            report = conn.execute(
                sa.select(r.c.report).where(r.c.analysis_id == seeded.analysis_id)
            ).scalar_one()
            for entry in report["report"]["downloads"]:
                if entry["download_id"] == seeded.download_id:
                    entry["status"] = t.UPLOAD_FAILED
            conn.execute(
                sa.update(r).where(r.c.analysis_id == seeded.analysis_id).values(report=report)
            )
        self.add_attempt(
            seeded,
            attempt=1,
            outcome=t.OUTCOME_FAILED,
            error_class=error_class,
            error_message="Access Denied",
        )


def staged_file(settings: Settings, seeded: Seeded) -> Path:
    return settings.staging_dir / seeded.staged_path
