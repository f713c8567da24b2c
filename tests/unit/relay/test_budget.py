"""The store-wide byte budget: bounded, first come first served, nothing leaked."""

from __future__ import annotations

import threading
import time

import pytest

from relay.stores import budget as budget_module
from relay.stores.budget import ByteBudget


def _start(
    budget: ByteBudget, size: int, order: list[int], hold: threading.Event
) -> threading.Thread:
    def run() -> None:
        with budget.reserve(size):
            order.append(size)
            hold.wait(5)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _wait_for_waiters(budget: ByteBudget, count: int) -> None:
    deadline = time.monotonic() + 5
    while len(budget._waiters) < count:
        assert time.monotonic() < deadline, "waiters did not queue"
        time.sleep(0.001)


def test_takes_what_fits_and_gives_it_back() -> None:
    budget = ByteBudget(100)
    assert budget.acquire(60) == 60
    assert budget.acquire(40) == 40
    assert budget.in_use == 100
    budget.release(60)
    budget.release(40)
    assert budget.in_use == 0


def test_a_request_larger_than_the_budget_takes_all_of_it_and_runs_alone() -> None:
    budget = ByteBudget(100)
    assert budget.acquire(1_000) == 100
    assert budget.in_use == 100
    budget.release(100)
    assert budget.acquire(0) == 0


def test_waiters_are_served_in_arrival_order_so_a_large_one_is_not_starved() -> None:
    budget = ByteBudget(100)
    first = budget.acquire(60)
    order: list[int] = []
    hold = threading.Event()
    large = _start(budget, 100, order, hold)  # waits: only 40 free
    _wait_for_waiters(budget, 1)
    small = _start(budget, 10, order, hold)  # fits in the 40 free, but arrived later
    _wait_for_waiters(budget, 2)
    time.sleep(0.05)
    assert order == []  # the small one does not overtake the large one
    budget.release(first)
    deadline = time.monotonic() + 5
    while not order:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    assert order == [100]
    hold.set()
    large.join(5)
    small.join(5)
    assert order == [100, 10]
    assert budget.in_use == 0


def test_releasing_more_than_is_in_use_is_an_error() -> None:
    budget = ByteBudget(10)
    budget.acquire(5)
    with pytest.raises(RuntimeError, match="released 6 bytes with only 5 in use"):
        budget.release(6)


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive capacity"):
        ByteBudget(0)


def test_a_waiter_that_is_interrupted_leaves_the_queue_and_the_next_one_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    budget = ByteBudget(10)
    held = budget.acquire(10)

    class Interrupted(Exception):
        pass

    class InterruptedEvent(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            raise Interrupted

    monkeypatch.setattr(budget_module, "Event", InterruptedEvent)
    with pytest.raises(Interrupted):
        budget.acquire(5)
    monkeypatch.undo()
    assert len(budget._waiters) == 0
    order: list[int] = []
    hold = threading.Event()
    hold.set()
    later = _start(budget, 5, order, hold)
    _wait_for_waiters(budget, 1)
    budget.release(held)
    later.join(5)
    assert order == [5]
    assert budget.in_use == 0
