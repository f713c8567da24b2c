"""Exact duplicate rows across chunks with 64-bit row hashes.

The hashes of all distinct rows seen so far are kept in one sorted numpy array (8 bytes per
distinct row: about 80 MB for 10 million rows). Each chunk is checked with a binary search and
merged in with a stable sort of two sorted runs (linear time). Two different rows share a
64-bit hash with probability about n^2 / 2^65 (3e-6 for 10 million rows); such a pair would
be treated as duplicates.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


class DuplicateTracker:
    def __init__(self) -> None:
        self._seen: npt.NDArray[np.uint64] = np.empty(0, dtype=np.uint64)

    @property
    def distinct(self) -> int:
        return int(self._seen.size)

    def mark(self, hashes: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
        """True for each row whose hash was seen before (earlier in the chunk or in an earlier
        chunk); the first occurrence of each hash is False."""
        if hashes.size == 0:
            return np.zeros(0, dtype=np.bool_)
        order = np.argsort(hashes, kind="stable")
        ordered = hashes[order]
        first = np.ones(ordered.size, dtype=np.bool_)
        first[1:] = ordered[1:] != ordered[:-1]
        uniques = ordered[first]
        positions = np.searchsorted(self._seen, uniques)
        positions_clipped = np.minimum(positions, max(self._seen.size - 1, 0))
        in_seen = (
            self._seen[positions_clipped] == uniques
            if self._seen.size
            else np.zeros(uniques.size, dtype=np.bool_)
        )
        group = np.cumsum(first) - 1
        duplicate_sorted = ~first | in_seen[group]
        duplicate = np.empty(ordered.size, dtype=np.bool_)
        duplicate[order] = duplicate_sorted
        fresh = uniques[~in_seen]
        if fresh.size:
            merged = np.concatenate([self._seen, fresh])
            merged.sort(kind="stable")  # two sorted runs: a linear merge
            self._seen = merged
        return duplicate
