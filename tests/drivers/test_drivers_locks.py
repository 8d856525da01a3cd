"""The per-device PriorityRLock: reentrant, first come first served, priority acquirers first."""

import threading
import time

from drivers.contracts import PriorityRLock


def wait_until(condition, timeout_s=5.0):
    end = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < end
        time.sleep(0.001)


def test_waiters_are_served_in_arrival_order_priority_first_and_the_owner_may_reenter():
    lock = PriorityRLock()
    order = []
    lock.acquire()
    lock.acquire()  # reentrant
    threads = []
    for name, priority in (("a", False), ("b", False), ("stop", True), ("c", False), ("off", True)):
        t = threading.Thread(target=lambda n=name, p=priority: (lock.acquire(priority=p), order.append(n),
                                                                 lock.release()))
        t.start()
        threads.append(t)
        expected = sum(1 for _, p in (("a", False), ("b", False), ("stop", True), ("c", False), ("off", True))
                       [: len(threads)] if p is priority)
        wait_until(lambda e=expected, p=priority: lock.queued[1 if p else 0] == e)
    lock.release()
    assert order == []  # still held once
    lock.release()
    for t in threads:
        t.join(5)
    assert order == ["stop", "off", "a", "b", "c"]


def test_timeout_gives_up_without_taking_the_lock():
    lock = PriorityRLock()
    lock.acquire()
    got = []
    t = threading.Thread(target=lambda: got.append(lock.acquire(timeout=0.05)))
    t.start()
    t.join(5)
    assert got == [False] and lock.queued == (0, 0)
    lock.release()
    assert lock.acquire(blocking=False)
