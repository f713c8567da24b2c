"""Bounded read-ahead of the CSV reader and the prefetching thread."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from domain.prefetch import prefetch
from domain.reading import read_chunks, sniff_source, stream
from domain.reading.readahead import DropWatch, GatedInput
from domain.reading.transcode import Utf8Transcoder


def test_gated_input_reads_at_most_ahead_blocks_beyond_the_consumed() -> None:
    gated = GatedInput(io.BytesIO(b"x" * 100), ahead=2, watch=DropWatch())
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
    gated = GatedInput(io.BytesIO(b"abc"), ahead=0, watch=DropWatch())
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


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16"])
def test_transcoded_input_never_waits_out_the_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoding: str
) -> None:
    """Files in other encodings are decoded before pyarrow sees them, so pyarrow still reads
    once per block: no read waits for the gate's timeout (with pyarrow's own transcoding, the
    surplus reads each waited GATE_TIMEOUT_SECONDS), every record arrives decoded, and the
    progress counts bytes of the file itself."""
    path = tmp_path / f"{encoding}.csv"
    path.write_bytes(
        ("name,city\n" + "".join(f"Zoë {i},Malmö\n" for i in range(20_000))).encode(encoding)
    )
    timeouts: list[int] = []

    class Recording(GatedInput):
        def release(self) -> None:
            super().release()
            timeouts.append(self.timeouts)

    monkeypatch.setattr(stream, "GatedInput", Recording)
    spec = sniff_source(path)
    assert spec.encoding in (encoding, "utf-16")
    chunks = list(read_chunks(spec, 32 << 10))
    table = pa.concat_tables(chunk.table for chunk in chunks)
    assert table.num_rows == 20_000
    assert table.slice(19_999).to_pylist() == [{"c0": "Zoë 19999", "c1": "Malmö"}]
    assert len(chunks) > 3
    assert chunks[-1].bytes_done == path.stat().st_size
    assert timeouts
    assert timeouts == [0] * len(timeouts)


def test_utf8_transcoder_returns_at_most_what_was_asked() -> None:
    text = "é,ü\n" * 1_000
    transcoder = Utf8Transcoder(io.BytesIO(text.encode("utf-16")), "utf-16")
    pieces = []
    while piece := transcoder.read(7):
        assert len(piece) <= 7
        pieces.append(piece)
    assert b"".join(pieces) == text.encode("utf-8")
    assert transcoder.tell() == len(text.encode("utf-16"))


def test_drop_watch_waits_until_every_watched_object_is_dropped() -> None:
    watch = DropWatch()
    held = [memoryview(bytes(10)) for _ in range(300)]  # more than one pruning's worth
    for index in range(len(held)):
        watch.watch(held[index])
    assert not watch.wait(0.05)  # all alive
    dropper = threading.Timer(0.1, held.clear)
    dropper.start()
    assert watch.wait(5.0)
    dropper.join()
    kept = memoryview(b"kept")
    watch.watch(kept)
    assert not watch.wait(0.05)


ABANDON = """
import sys
from pathlib import Path
from domain.reading import read_chunks, sniff_source
spec = sniff_source(Path(sys.argv[1]))
closed = read_chunks(spec, 1 << 20)
next(closed), next(closed)
closed.close()  # closed before its end, the interpreter exits at once
abandoned = read_chunks(spec, 1 << 20)
next(abandoned), next(abandoned)  # left suspended: nothing closes it before the exit
print("done")
"""


def test_a_stream_closed_or_abandoned_before_its_end_lets_the_process_exit(
    tmp_path: Path,
) -> None:
    """pyarrow's read-ahead tasks hold the file and the blocks they read; dropped on an Arrow
    thread while the interpreter finalizes, they aborted the process ("terminate called",
    "PyGILState_Release") or hung it in Arrow's thread-pool shutdown, in 10 of 10 runs for an
    abandoned stream."""
    path = tmp_path / "big.csv"
    path.write_text("id,name,amount\n" + "".join(f"{i},name {i},{i}.5\n" for i in range(1_000_000)))
    root = Path(__file__).resolve().parents[3]
    for _ in range(4):
        run = subprocess.run(
            [sys.executable, "-c", ABANDON, str(path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=root,
        )
        assert (run.returncode, run.stdout.strip()) == (0, "done"), run.stderr[-2000:]
