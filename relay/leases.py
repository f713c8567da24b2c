"""Keeping leases alive while long uploads run: :class:`outbox.leases.LeaseKeeper` renewing
outbox records."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from outbox import leases
from relay.claim import renew_leases
from relay.records import ClaimedRecord


class LeaseKeeper(leases.LeaseKeeper[ClaimedRecord]):
    """Renews the leases of unfinished records every third of the lease period."""

    def __init__(self, engine: sa.Engine, records: Iterable[ClaimedRecord], lease_seconds: int):
        super().__init__(
            lambda open_records: renew_leases(engine, open_records, lease_seconds),
            records,
            lease_seconds,
            key=lambda record: record.outbox_id,
            name="relay-lease-keeper",
            on_lost=lambda record: leases.log.warning(
                "lease_renewal_lost", outbox_id=record.outbox_id
            ),
        )
