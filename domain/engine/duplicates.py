"""Exact duplicate rows across chunks with 64-bit row hashes.

The hashes of all distinct rows seen so far are kept in sorted numpy runs of at most
``RUN_LIMIT`` entries (8 bytes per distinct row: about 80 MB for 10 million rows, with no
doubling while merging: only the last, bounded run is ever rewritten). Each chunk's hashes are
looked up with a binary search in every run and the new ones merged into the last run (a stable
sort of two sorted runs: linear time). Two different rows share a 64-bit hash with probability
about n^2 / 2^65 (3e-6 for 10 million rows); such a pair would be treated as duplicates.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

RUN_LIMIT = 1 << 21  # entries per sorted run (16 MiB)


class DuplicateTracker:
    def __init__(self, run_limit: int = RUN_LIMIT) -> None:
        self._runs: list[npt.NDArray[np.uint64]] = [np.empty(0, dtype=np.uint64)]
        self._run_limit = run_limit

    @property
    def distinct(self) -> int:
        return sum(int(run.size) for run in self._runs)

    def _seen(self, values: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
        found = np.zeros(values.size, dtype=np.bool_)
        for run in self._runs:
            if run.size:
                positions = np.minimum(np.searchsorted(run, values), run.size - 1)
                found |= run[positions] == values
        return found

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
        in_seen = self._seen(uniques)
        group = np.cumsum(first) - 1
        duplicate = np.empty(ordered.size, dtype=np.bool_)
        duplicate[order] = ~first | in_seen[group]
        fresh = uniques[~in_seen]
        if fresh.size:
            last = self._runs[-1]
            if last.size + fresh.size > self._run_limit and last.size:
                self._runs.append(fresh)
            else:
                merged = np.concatenate([last, fresh])
                merged.sort(kind="stable")  # two sorted runs: a linear merge
                self._runs[-1] = merged
        return duplicate
