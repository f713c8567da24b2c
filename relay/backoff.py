"""Retry delays: exponential backoff with full jitter, honouring a server's Retry-After."""

from __future__ import annotations

import random


def compute_retry_delay(
    attempt: int,
    *,
    base_seconds: float,
    max_seconds: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    Full jitter: uniform in ``[0, min(max, base * 2**(attempt-1))]``. A Retry-After is a floor
    (capped at ``max_seconds`` so a hostile header cannot park a record for days).
    """
    ceiling = min(max_seconds, base_seconds * (2 ** max(0, attempt - 1)))
    delay = (rng or random).uniform(0.0, ceiling)
    if retry_after is not None:
        delay = max(delay, min(retry_after, max_seconds))
    return delay
