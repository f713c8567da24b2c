"""Values passed between claiming, uploading and flipping (frozen dataclasses, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ClaimedRecord:
    """One outbox row this relay holds a lease on."""

    outbox_id: int
    download_id: str
    analysis_id: str
    lease_token: str
    attempt: int  # attempts after this claim (1 on the first try)
    payload: Mapping[str, Any]

    @property
    def object_key(self) -> str:
        return str(self.payload["object_key"])

    @property
    def size_bytes(self) -> int:
        return int(self.payload["size_bytes"])


@dataclass(frozen=True)
class AttemptReport:
    """What one upload attempt did, and what the outbox row should become."""

    outcome: str  # one of outbox.tables.OUTCOME_*
    started_at: datetime
    duration_ms: int
    bytes_sent: int = 0
    etag: str | None = None
    error_class: str | None = None
    error_message: str | None = None
    retry_at: datetime | None = None  # set when outcome is OUTCOME_RETRY

    @property
    def succeeded(self) -> bool:
        from outbox.tables import OUTCOME_ALREADY_PRESENT, OUTCOME_UPLOADED

        return self.outcome in (OUTCOME_UPLOADED, OUTCOME_ALREADY_PRESENT)
