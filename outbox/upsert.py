"""One row per key, written in one statement on either backend."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql as mysql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect


def upsert(conn: sa.Connection, table: sa.Table, values: dict[str, Any], key: str) -> None:
    """INSERT ... ON DUPLICATE KEY UPDATE (MySQL) / ON CONFLICT DO UPDATE (SQLite): a new row,
    or the row with the same ``key`` given ``values`` (its ``created_at``, if any, kept)."""
    updates = [name for name in values if name not in (key, "created_at")]
    if conn.dialect.name == "sqlite":
        lite = sqlite_dialect.insert(table).values(**values)
        conn.execute(
            lite.on_conflict_do_update(
                index_elements=[key], set_={name: lite.excluded[name] for name in updates}
            )
        )
        return
    my = mysql_dialect.insert(table).values(**values)
    conn.execute(my.on_duplicate_key_update({name: my.inserted[name] for name in updates}))
