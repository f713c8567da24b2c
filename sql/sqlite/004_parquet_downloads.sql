-- clean-my-data schema, version 004 (SQLite): downloads may be Parquet (the cell-level row trail).
-- SQLite cannot alter a CHECK constraint: the table is rebuilt with the same columns, keys and
-- indexes (mirrors outbox/tables.py). legacy_alter_table keeps the audit views, which name
-- "downloads", pointing at the rebuilt table. Statements are separated by lines holding only ";;".

PRAGMA legacy_alter_table = ON
;;
CREATE TABLE downloads_004 (
	download_id VARCHAR(36) NOT NULL,
	analysis_id VARCHAR(128) NOT NULL,
	file_name VARCHAR(255) NOT NULL,
	format VARCHAR(32) NOT NULL,
	size_bytes BIGINT NOT NULL,
	sha256 VARCHAR(64) NOT NULL,
	s3_path VARCHAR(1024) NOT NULL,
	object_key VARCHAR(1024) NOT NULL,
	staged_path VARCHAR(1024) NOT NULL,
	staging_volume VARCHAR(64) NOT NULL,
	presigned_url TEXT,
	status VARCHAR(32) NOT NULL,
	last_error TEXT,
	created_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL,
	updated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL,
	CONSTRAINT pk_downloads PRIMARY KEY (download_id),
	CONSTRAINT fk_downloads_analysis_id FOREIGN KEY(analysis_id) REFERENCES analysis_reports (analysis_id) ON DELETE CASCADE,
	CONSTRAINT ck_downloads_status CHECK (status IN ('pending', 'uploaded', 'upload_failed')),
	CONSTRAINT ck_downloads_format CHECK (format IN ('csv', 'xlsx', 'json', 'parquet'))
)
;;
INSERT INTO downloads_004 SELECT * FROM downloads
;;
DROP TABLE downloads
;;
ALTER TABLE downloads_004 RENAME TO downloads
;;
CREATE INDEX ix_downloads_analysis_id ON downloads (analysis_id)
;;
CREATE INDEX ix_downloads_status_updated ON downloads (status, updated_at)
;;
PRAGMA legacy_alter_table = OFF
;;
