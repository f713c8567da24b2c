"""Migration 004: a downloads table created before it (format csv, xlsx or json) accepts
'parquet' afterwards, keeps its rows, its indexes and its views, and still refuses other formats
(SQLite; the schema-agreement tests cover MariaDB)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from outbox.migrations import locate_sql_dir, upgrade
from outbox.tables import metadata

SQL_DIR = locate_sql_dir()


def _sql_dir_before_004(tmp_path: Path) -> Path:
    root = tmp_path / "sql"
    for dialect in ("mysql", "sqlite"):
        (root / dialect).mkdir(parents=True)
        for path in sorted((SQL_DIR / dialect).glob("*.sql")):
            if int(path.name[:3]) < 4:
                shutil.copy(path, root / dialect / path.name)
    return root


def _download(download_id: str, fmt: str) -> dict[str, object]:
    return {
        "download_id": download_id,
        "analysis_id": "an-1",
        "file_name": f"f.{fmt}",
        "format": fmt,
        "size_bytes": 1,
        "sha256": "0" * 64,
        "s3_path": "s3://b/k",
        "object_key": "k",
        "staged_path": "p",
        "staging_volume": "v",
        "status": "pending",
    }


def _insert(engine: sa.Engine, download_id: str, fmt: str) -> None:
    with engine.begin() as conn:
        conn.execute(metadata.tables["downloads"].insert().values(**_download(download_id, fmt)))


def test_downloads_made_before_004_stay_and_parquet_is_accepted_after(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade(engine, _sql_dir_before_004(tmp_path))
    with engine.begin() as conn:
        conn.execute(
            metadata.tables["analysis_reports"]
            .insert()
            .values(
                analysis_id="an-1",
                tool="t",
                status="success",
                timestamp=sa.func.current_timestamp(),
                execution_time_ms=1,
                report={},
            )
        )
    _insert(engine, "d-json", "json")
    with pytest.raises(sa.exc.IntegrityError):
        _insert(engine, "d-parquet", "parquet")  # refused before 004

    assert "004" in " ".join(upgrade(engine, SQL_DIR))

    _insert(engine, "d-parquet", "parquet")
    with pytest.raises(sa.exc.IntegrityError):
        _insert(engine, "d-pdf", "pdf")
    with engine.connect() as conn:
        formats = conn.exec_driver_sql("SELECT format FROM downloads ORDER BY format").scalars()
        assert list(formats) == ["json", "parquet"]
        views = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'view'")
        names = list(views.scalars())
        assert names
        for name in names:
            conn.exec_driver_sql(f"SELECT * FROM {name}").fetchall()  # still valid
        indexes = conn.exec_driver_sql("PRAGMA index_list('downloads')").fetchall()
        assert {"ix_downloads_analysis_id", "ix_downloads_status_updated"} <= {
            row[1] for row in indexes
        }
    engine.dispose()
