"""The engine a public call uses: the caller's, or one it opens and disposes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from outbox.db import open_database
from outbox.settings import Settings


@contextmanager
def database(settings: Settings, engine: sa.Engine | None) -> Iterator[sa.Engine]:
    """``engine`` as given (left open), else one on a ready schema, disposed afterwards."""
    if engine is not None:
        yield engine
        return
    opened = open_database(settings)
    try:
        yield opened
    finally:
        opened.dispose()
