from __future__ import annotations

import numpy as np

from domain.engine.duplicates import DuplicateTracker


def test_duplicates_within_and_across_chunks() -> None:
    tracker = DuplicateTracker()
    first = tracker.mark(np.array([5, 3, 5, 9], dtype=np.uint64))
    assert first.tolist() == [False, False, True, False]
    second = tracker.mark(np.array([9, 1, 1, 3, 7], dtype=np.uint64))
    assert second.tolist() == [True, False, True, True, False]
    assert tracker.distinct == 5


def test_matches_a_set_on_random_data() -> None:
    rng = np.random.default_rng(1)
    tracker = DuplicateTracker()
    seen: set[int] = set()
    for _ in range(5):
        chunk = rng.integers(0, 500, 300).astype(np.uint64)
        expected = []
        for value in chunk.tolist():
            expected.append(value in seen)
            seen.add(value)
        assert tracker.mark(chunk).tolist() == expected


def test_many_small_runs_give_the_same_answer() -> None:
    rng = np.random.default_rng(2)
    small = DuplicateTracker(run_limit=64)
    large = DuplicateTracker()
    for _ in range(20):
        chunk = rng.integers(0, 2_000, 100).astype(np.uint64)
        assert small.mark(chunk).tolist() == large.mark(chunk).tolist()
    assert small.distinct == large.distinct


def test_full_width_hashes_match_a_set() -> None:
    """Hashes spread over all 64 bits, as real row hashes are: most new rows are answered by
    the presence filter, repeats (within and across chunks) by the sorted runs."""
    rng = np.random.default_rng(3)
    pool = rng.integers(0, 2**63, 5_000, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    tracker = DuplicateTracker(run_limit=1_000)
    seen: set[int] = set()
    for _ in range(30):
        chunk = pool[rng.integers(0, pool.size, 400)]
        expected = []
        for value in chunk.tolist():
            expected.append(value in seen)
            seen.add(value)
        assert tracker.mark(chunk).tolist() == expected
    assert tracker.distinct == len(seen)


def test_hashes_sharing_a_word_of_the_filter_are_all_remembered() -> None:
    """Bits of one filter word set by one chunk: each later repeat is found, and a hash whose
    bits in that word are not all set is still new."""
    word = 64 - 20  # the top 20 bits pick the word, three 6-bit fields below them the bits

    def value(word_index: int, *bits: int) -> int:
        fields = sum(bit << (word - 6 * (k + 1)) for k, bit in enumerate(bits))
        return (word_index << word) | fields | 1

    chunk = [value(5, 1, 2, 3), value(5, 4, 5, 6), value(5, 1, 5, 9), value(6, 1, 2, 3)]
    values = np.array(chunk, dtype=np.uint64)
    tracker = DuplicateTracker()
    assert not tracker.mark(values).any()
    assert tracker.mark(values[::-1].copy()).all()
    # word 5 has bits 1-6 and 9 set: 1, 2, 7 is new (bit 7 clear), and so is 1, 2, 4 (all its
    # bits set, so the filter lets it through: the binary search answers)
    fresh = np.array([value(5, 1, 2, 7), value(5, 1, 2, 4)], dtype=np.uint64)
    assert tracker.mark(fresh).tolist() == [False, False]
