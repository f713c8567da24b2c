"""A store-wide budget of object bytes being sent at once, handed out first come, first served.

Every upload thread reserves the bytes it is about to send (a whole object for a single PUT,
one chunk for a multipart part) and gives them back when the request is answered. A request
larger than the whole budget reserves all of it and so runs alone. Waiters are served in
arrival order, so a large object is never starved by a stream of small ones, and a small one
waits at most for what is ahead of it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from threading import Event, Lock


class ByteBudget:
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"a byte budget needs a positive capacity, not {capacity}")
        self._capacity = capacity
        self._used = 0
        self._lock = Lock()
        self._waiters: deque[Event] = deque()

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def in_use(self) -> int:
        with self._lock:
            return self._used

    def acquire(self, size: int) -> int:
        """Wait until ``size`` bytes (at most the capacity) are free and take them; returns the
        amount taken, which is what :meth:`release` must be given back."""
        amount = max(0, min(size, self._capacity))
        with self._lock:
            if not self._waiters and self._used + amount <= self._capacity:
                self._used += amount
                return amount
            turn = Event()
            self._waiters.append(turn)
        try:
            while True:
                turn.wait()
                with self._lock:
                    if self._waiters[0] is turn and self._used + amount <= self._capacity:
                        self._waiters.popleft()
                        self._used += amount
                        self._wake_head()
                        return amount
                    turn.clear()
        except BaseException:
            with self._lock:
                self._waiters.remove(turn)
                self._wake_head()
            raise

    def release(self, amount: int) -> None:
        with self._lock:
            if amount > self._used:
                raise RuntimeError(f"released {amount} bytes with only {self._used} in use")
            self._used -= amount
            self._wake_head()

    def _wake_head(self) -> None:
        """Called with the lock held: let the first waiter look again."""
        if self._waiters:
            self._waiters[0].set()

    @contextmanager
    def reserve(self, size: int) -> Iterator[int]:
        amount = self.acquire(size)
        try:
            yield amount
        finally:
            self.release(amount)
