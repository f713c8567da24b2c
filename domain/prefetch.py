"""A generator run on a thread a bounded number of items ahead of its consumer.

Used where the producer's work releases the GIL (pyarrow parsing, polars queries, JSON
encoding) so that it overlaps with the consumer's work on the other core, while at most
``depth`` items wait in between (memory stays flat).

A producer whose consumer was abandoned (an iterator dropped half-way and still referenced, a
thread still consuming when the program ends) is stopped and closed when the interpreter exits,
before its runtime is torn down: pyarrow's CSV read-ahead parked in the input under a
finalizing interpreter aborts the process ("PyGILState_Release ... finalizing") or hangs it in
Arrow's thread-pool shutdown.
"""

from __future__ import annotations

import atexit
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from typing import Final, TypeVar

T = TypeVar("T")

_DONE: Final = object()
EXIT_JOIN_SECONDS: Final = 10.0  # per producer: the item in hand, then its close
_live: set[tuple[threading.Event, threading.Thread]] = set()
_live_lock = threading.Lock()


def _stop_producers_at_exit() -> None:
    with _live_lock:
        producers = list(_live)
    for stop, _ in producers:
        stop.set()
    for _, worker in producers:
        worker.join(timeout=EXIT_JOIN_SECONDS)


atexit.register(_stop_producers_at_exit)


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetch(produce: Callable[[], Iterator[T]], depth: int) -> Generator[T, None, None]:
    """Yield what ``produce()`` yields, computed on a thread at most ``depth`` items ahead.
    An exception of the producer is raised here; closing this generator stops the producer
    (it finishes the item in hand, then exits) before returning."""
    items: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        produced = produce()
        try:
            for item in produced:
                if not put(item):
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the consumer
            put(_Failure(error))
            return
        finally:
            close = getattr(produced, "close", None)
            if close is not None:
                close()
        put(_DONE)

    worker = threading.Thread(target=run, name="csv-prefetch", daemon=True)
    handle = (stop, worker)
    with _live_lock:
        _live.add(handle)
    worker.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()
        with _live_lock:
            _live.discard(handle)
