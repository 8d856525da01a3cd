"""The per-device lock: reentrant for its owner, first come first served, and a *priority* acquirer
(laser emission-off, stage stop, close) goes ahead of every normal acquirer already queued, after the
transaction in flight."""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class PriorityRLock:
    """A reentrant, first-come-first-served lock where priority acquirers go before normal ones.

    Fair: a thread that releases and at once re-acquires (a poller, a hammering loop) queues behind
    the threads already waiting, so nobody starves.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._owner: int | None = None
        self._depth = 0
        self._tickets = itertools.count()
        self._normal: deque[int] = deque()
        self._priority: deque[int] = deque()

    def acquire(self, blocking: bool = True, timeout: float | None = None, *, priority: bool = False) -> bool:
        """Take the lock; False if ``blocking`` is False or ``timeout`` (s) passes first."""
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return True
            deadline = None if timeout is None else time.monotonic() + timeout
            ticket = next(self._tickets)
            queue = self._priority if priority else self._normal
            queue.append(ticket)
            try:
                while not (self._owner is None and self._is_next(ticket, priority)):
                    if not blocking:
                        return False
                    if deadline is None:
                        self._cond.wait()
                    else:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            return False
                        self._cond.wait(remaining)
                self._owner, self._depth = me, 1
                return True
            finally:
                queue.remove(ticket)
                self._cond.notify_all()  # the next in line re-checks

    def _is_next(self, ticket: int, priority: bool) -> bool:
        if priority:
            return self._priority[0] == ticket
        return not self._priority and self._normal[0] == ticket

    def release(self) -> None:
        with self._cond:
            if self._owner != threading.get_ident():
                raise RuntimeError("release of a device lock not held by this thread")
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._cond.notify_all()

    @contextmanager
    def hold(self, *, priority: bool = False) -> Iterator[None]:
        self.acquire(priority=priority)
        try:
            yield
        finally:
            self.release()

    def __enter__(self) -> "PriorityRLock":
        self.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()

    @property
    def held(self) -> bool:
        """True while some thread holds the lock (a hint; it may change at once)."""
        return self._owner is not None

    @property
    def queued(self) -> tuple[int, int]:
        """(normal, priority) acquirers waiting now (for tests and diagnostics)."""
        with self._cond:
            return len(self._normal), len(self._priority)
