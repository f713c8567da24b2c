"""Bounded read-ahead for the CSV reader.

pyarrow's streaming CSV reader reads its input on a background thread up to 32 blocks ahead of
the batches handed out (64 MiB with 2 MiB blocks, the whole file when it is smaller): memory
that depends on how starved the consumer is, and a file position that says nothing about
progress. :class:`GatedInput` is the file pyarrow reads from: read number ``n`` (one block each)
waits until ``n - 1 - ahead`` batches have been consumed, and it remembers where each read
ended, so the bytes behind the k-th batch are known (the parser turns block k into batch k).

Arrow's I/O threads hold Python objects of ours: the file itself and the block each read
returned. The last reference to one of them may go on such a thread, which then calls into
Python; if the interpreter is finalizing by then, the process aborts ("terminate called",
"PyGILState_Release ... finalizing") or hangs in Arrow's thread-pool shutdown. A
:class:`DropWatch` waits until they have been dropped, so a stream closed before its end (an
error, an abandoned iterator) is left only once Arrow's tasks hold none of them. (The error of a
failed read keeps the file in its traceback: then only the blocks are awaited.)
"""

from __future__ import annotations

import queue
import threading
import time
import weakref
from typing import Any, BinaryIO, Final

GATE_TIMEOUT_SECONDS: Final = 2.0  # a read never waits longer (no deadlock if blocks != batches)
PRUNE_EVERY: Final = 256  # watched objects between two prunings of the dead references


class DropWatch:
    """Counts the objects handed to Arrow that are still alive; :meth:`wait` returns once none
    is. The weak references call ``SimpleQueue.put``, a C function: the thread that drops an
    object runs no bytecode in the callback, so it cannot be switched out between announcing
    the drop and leaving Python."""

    def __init__(self) -> None:
        self._dropped: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._refs: list[weakref.ref[Any]] = []
        self._watched = 0
        self._seen = 0  # drops already taken from the queue

    def watch(self, target: Any) -> None:
        if len(self._refs) >= PRUNE_EVERY:
            self._refs = [ref for ref in self._refs if ref() is not None]
        self._refs.append(weakref.ref(target, self._dropped.put))
        self._watched += 1

    def wait(self, timeout: float) -> bool:
        """True once every watched object has been dropped; False after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self._seen < self._watched:
            try:
                self._dropped.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return False
            self._seen += 1
        return True


class GatedInput:
    """A read-only binary file for pyarrow whose reads may run ``ahead`` blocks before the
    consumed batches (see the module docstring)."""

    def __init__(self, handle: BinaryIO, ahead: int, watch: DropWatch) -> None:
        self._handle = handle
        self._watch = watch
        self._ahead = ahead
        self._ready = threading.Condition()
        self._consumed = 0  # batches consumed
        self._ends: list[int] = []  # raw file position after each read
        self._position = 0
        self._released = False
        self._reading = 0  # reads in progress on pyarrow's thread
        self.timeouts = 0  # reads that waited out GATE_TIMEOUT_SECONDS (reads != blocks)

    # the file protocol pyarrow's PythonFile uses
    closed = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def writable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        self.release()

    def read_buffer(self, size: int = -1) -> memoryview:
        """:meth:`read` as a watched view (pyarrow prefers this method to ``read``)."""
        view = memoryview(self.read(size))
        self._watch.watch(view)
        return view

    def read(self, size: int = -1) -> bytes:
        with self._ready:
            self._reading += 1
        try:
            return self._read(size)
        finally:
            with self._ready:
                self._reading -= 1
                self._ready.notify_all()

    def _read(self, size: int) -> bytes:
        with self._ready:
            opened = self._ready.wait_for(
                lambda: self._released or len(self._ends) <= self._consumed + self._ahead,
                timeout=GATE_TIMEOUT_SECONDS,
            )
            if not opened:
                self.timeouts += 1
            if self._released:
                return b""
        data = self._handle.read(size)
        with self._ready:
            self._position = self._handle.tell()  # of the file itself, also when transcoded
            self._ends.append(self._position)
        return data

    def consume(self) -> int:
        """Count one batch as consumed; returns the input bytes behind the batches so far."""
        with self._ready:
            self._consumed += 1
            self._ready.notify_all()
            index = min(self._consumed, len(self._ends)) - 1
            return self._ends[index] if index >= 0 else 0

    def release(self) -> None:
        """Stop gating: a waiting or later read returns end of file at once. Returns once no
        read is in progress, so that pyarrow's thread is out of this file (and out of Python)
        before the caller goes on: an interpreter that exits while that thread is inside a
        Python call aborts ("PyGILState_Release ... finalizing")."""
        with self._ready:
            self._released = True
            self._ready.notify_all()
            self._ready.wait_for(lambda: self._reading == 0, timeout=GATE_TIMEOUT_SECONDS)
