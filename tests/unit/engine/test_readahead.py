"""Bounded read-ahead of the CSV reader and the prefetching thread."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.prefetch import prefetch
from domain.reading import read_chunks, sniff_source
from domain.reading.readahead import GatedInput


def test_gated_input_reads_at_most_ahead_blocks_beyond_the_consumed() -> None:
    gated = GatedInput(io.BytesIO(b"x" * 100), ahead=2)
    reads: list[bytes] = []
    reader = threading.Thread(target=lambda: reads.extend(gated.read(10) for _ in range(6)))
    reader.start()
    reader.join(timeout=0.5)
    assert len(reads) == 3  # the 4th read waits
    assert reader.is_alive()
    assert gated.tell() == 30
    assert gated.consume() == 10  # the first batch came from the first read
    assert gated.consume() == 20
    assert gated.consume() == 30
    reader.join(timeout=5)
    assert not reader.is_alive()
    assert b"".join(reads) == b"x" * 60


def test_released_gate_reads_end_of_file() -> None:
    gated = GatedInput(io.BytesIO(b"abc"), ahead=0)
    assert gated.read(1) == b"a"
    gated.release()
    assert gated.read(1) == b""


def test_prefetch_yields_in_order_and_raises_the_producers_error() -> None:
    def produce() -> Iterator[int]:
        yield from range(5)
        raise ValueError("broken at 5")

    items = prefetch(produce, depth=2)
    assert [next(items) for _ in range(5)] == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="broken at 5"):
        next(items)


def test_closing_prefetch_stops_and_closes_the_producer() -> None:
    produced: list[int] = []
    closed = threading.Event()

    def produce() -> Iterator[int]:
        try:
            for n in range(1_000):
                produced.append(n)
                yield n
        finally:
            closed.set()

    items = prefetch(produce, depth=2)
    assert next(items) == 0
    time.sleep(0.3)
    assert len(produced) <= 4  # one handed out, two queued, one waiting to be queued
    items.close()
    assert closed.is_set()


def test_chunks_report_the_bytes_behind_them(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n" + "".join(f"{i},{'x' * (i % 50)}\n" for i in range(40_000)))
    size = path.stat().st_size
    block = 64 << 10
    done = [c.bytes_done for c in read_chunks(sniff_source(path), block)]
    assert len(done) >= size // block
    assert done == sorted(done)
    assert done[:3] == [block, 2 * block, 3 * block]  # not the reader's read-ahead position
    assert done[-1] == size
