"""verify with the real local-directory store (the embedded default) on SQLite."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import sqlalchemy as sa

from outbox.settings import Settings
from relay.stores.local import LocalStore
from relay.verify import key_prefix, verify
from tests.unit.audit.rows import Seeder


def test_local_store_consistent_then_broken(
    engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    root = tmp_path / "artifacts"
    local = dataclasses.replace(settings, artifact_store_url=f"file://{root}")
    store = LocalStore(root)
    seeder = Seeder(engine, local, store)
    seeder.add_report("loc")
    kept = seeder.add_uploaded("loc", "csv")
    gone = seeder.add_uploaded("loc", "json")
    seeder.add_download("loc", "xlsx")  # pending, staged
    first = verify(engine, store, local)
    assert first.problems == ()
    assert first.stats.objects_listed == 2
    assert first.stats.heads == 2  # the local listing has no ETag: HEAD reads the sidecar

    store.delete(gone.object_key)
    (root / kept.object_key).write_bytes(kept.content + b"more")
    (root / key_prefix(local) / "stray.csv").write_bytes(b"stray")
    codes = sorted(p.code for p in verify(engine, store, local).problems)
    assert codes == ["object_missing", "object_size_mismatch", "orphan_object"]
