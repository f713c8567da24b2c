-- clean-my-data schema, version 004: downloads may be Parquet (the cell-level row trail).
-- MySQL 8.0.19+ / MariaDB 10.6+. Statements are separated by lines holding only ";;".
-- One statement, so the constraint is never missing between a drop and an add.

ALTER TABLE downloads
    DROP CONSTRAINT ck_downloads_format,
    ADD CONSTRAINT ck_downloads_format CHECK (format IN ('csv', 'xlsx', 'json', 'parquet'))
;;
