"""Exact duplicate rows across chunks with 64-bit row hashes.

The hashes of all distinct rows seen so far are kept in sorted numpy runs of at most
``RUN_LIMIT`` entries (8 bytes per distinct row: about 80 MB for 10 million rows, with no
doubling while merging: only runs below the limit are ever rewritten). Each chunk's hashes are
looked up with a binary search in every run; the new ones become a run of their own, merged with
the runs before it while those are at most twice its size (a stable sort of two sorted runs:
linear time), so there are about log2(RUN_LIMIT / chunk) small runs besides the full ones.
A fixed 8 MiB blocked Bloom filter answers "never seen" for most new rows without a search
(the binary searches into runs of 2 million entries were most of the time): the top 20 bits of a
hash pick one of 2**20 64-bit words, three 6-bit fields below them pick three bits in it, so a
lookup reads one word. With 10.7 million distinct rows and 3 % repeats it passes 10.9 % of the
lookups on to the search, about 8 % of the new hashes (one bit per hash in the same 8 MiB:
16.8 %, about 14 %; bench/bench_duplicates.py).
Two different rows share a 64-bit hash with probability about n^2 / 2^65 (3e-6 for 10 million
rows); such a pair would be treated as duplicates.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

RUN_LIMIT = 1 << 21  # entries per sorted run (16 MiB)
FILTER_WORD_BITS = 20  # the filter: 2**20 words of 64 bits (8 MiB), picked by the top bits
_WORD_SHIFT = np.uint64(64 - FILTER_WORD_BITS)
_BIT_SHIFTS = tuple(np.uint64(64 - FILTER_WORD_BITS - 6 * (k + 1)) for k in range(3))
_SIX_BITS = np.uint64(63)
_ONE = np.uint64(1)


class DuplicateTracker:
    def __init__(self, run_limit: int = RUN_LIMIT) -> None:
        self._runs: list[npt.NDArray[np.uint64]] = [np.empty(0, dtype=np.uint64)]
        self._run_limit = run_limit
        self._filter = np.zeros(1 << FILTER_WORD_BITS, dtype=np.uint64)

    def _filter_slots(
        self, values: npt.NDArray[np.uint64]
    ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
        """The filter word of each hash and the mask of its three bits in that word."""
        masks = np.zeros(values.size, dtype=np.uint64)
        for shift in _BIT_SHIFTS:
            masks |= _ONE << ((values >> shift) & _SIX_BITS)
        return values >> _WORD_SHIFT, masks

    def _maybe_seen(self, values: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
        """False where the hash was certainly never seen (one of its bits is clear); True for
        every seen hash and a few others, which the binary search then settles."""
        words, masks = self._filter_slots(values)
        present: npt.NDArray[np.bool_] = (self._filter[words] & masks) == masks
        return present

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
        # an unstable sort (several times faster than a stable one); the first occurrence of
        # each value is then the smallest original index in its run of equal values
        order = np.argsort(hashes)
        ordered = hashes[order]
        starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
        uniques = ordered[starts]
        firsts = np.minimum.reduceat(order, starts)
        in_seen = np.zeros(uniques.size, dtype=np.bool_)
        maybe = self._maybe_seen(uniques)
        if maybe.any():
            in_seen[maybe] = self._seen(uniques[maybe])
        duplicate = np.ones(hashes.size, dtype=np.bool_)
        duplicate[firsts[~in_seen]] = False
        fresh = uniques[~in_seen]
        if fresh.size:
            self._set_filter(fresh)
            self._add_run(fresh)
        return duplicate

    def _set_filter(self, fresh: npt.NDArray[np.uint64]) -> None:
        """Set the filter bits of ``fresh`` (sorted, so hashes sharing a word are neighbours:
        their masks are OR-ed per word, then each word is updated once)."""
        words, masks = self._filter_slots(fresh)
        starts = np.flatnonzero(np.concatenate(([True], words[1:] != words[:-1])))
        self._filter[words[starts]] |= np.bitwise_or.reduceat(masks, starts)

    def _add_run(self, fresh: npt.NDArray[np.uint64]) -> None:
        """Append a sorted run, then merge the newest run into the one before it while it is
        at least half that size and the result stays within ``run_limit`` (runs double in
        size, so each hash is rewritten about log2(run_limit / chunk) times, not once per
        chunk; full runs are never rewritten again)."""
        runs = self._runs
        runs.append(fresh)
        while (
            len(runs) >= 2
            and 2 * runs[-1].size >= runs[-2].size
            and runs[-1].size + runs[-2].size <= self._run_limit
        ):
            merged = np.concatenate([runs[-2], runs[-1]])
            merged.sort(kind="stable")  # two sorted runs: a linear merge
            runs[-2:] = [merged]
