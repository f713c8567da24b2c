"""Migration 004: a downloads table created before it (format csv, xlsx or json) accepts
'parquet' afterwards, keeps its rows and still refuses other formats (SQLite file here)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from outbox.audit.views import create_sqlite_views
from outbox.migrations import Migration, discover_migrations, locate_sql_dir
from outbox.tables import metadata

SQL_DIR = locate_sql_dir()
OLD_CHECK = "format IN ('csv', 'xlsx', 'json')"
NEW_CHECK = "format IN ('csv', 'xlsx', 'json', 'parquet')"


def _migration(path: Path) -> Migration:
    (migration,) = [m for m in discover_migrations(path.parent) if m.path == path]
    return migration


def _schema_before_004(engine: sa.Engine) -> None:
    """The tables as they were before 004 (the downloads check without 'parquet')."""
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA writable_schema = ON")
        conn.exec_driver_sql(
            "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE name = 'downloads'",
            (NEW_CHECK, OLD_CHECK),
        )
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")
    engine.dispose()
    with engine.begin() as conn:
        create_sqlite_views(conn)


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


def test_the_sqlite_file_lets_downloads_be_parquet_and_keeps_rows_and_views(
    tmp_path: Path,
) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    _schema_before_004(engine)
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

    with engine.begin() as conn:
        for statement in _migration(SQL_DIR / "sqlite" / "004_parquet_downloads.sql").statements():
            conn.exec_driver_sql(statement)

    _insert(engine, "d-parquet", "parquet")
    with pytest.raises(sa.exc.IntegrityError):
        _insert(engine, "d-pdf", "pdf")
    with engine.connect() as conn:
        formats = conn.exec_driver_sql("SELECT format FROM downloads ORDER BY format").scalars()
        assert list(formats) == ["json", "parquet"]
        views = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'view'")
        for name in views.scalars():
            conn.exec_driver_sql(f"SELECT * FROM {name}").fetchall()  # still valid
        indexes = conn.exec_driver_sql("PRAGMA index_list('downloads')").fetchall()
        assert {"ix_downloads_analysis_id", "ix_downloads_status_updated"} <= {
            row[1] for row in indexes
        }


def test_the_mysql_file_is_the_one_todays_runner_applies() -> None:
    nested = (SQL_DIR / "mysql" / "004_parquet_downloads.sql").read_bytes()
    assert (SQL_DIR / "004_parquet_downloads.sql").read_bytes() == nested
    assert NEW_CHECK.replace("'", "") in nested.decode().replace("'", "")
