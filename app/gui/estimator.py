"""A worker thread that answers only the newest request (Qt-free): the sequence panel's duration estimate.

Planning a large run can take a second (up to a million blocks), so it never runs on the GUI thread; a
request made while one is computed replaces any older waiting one, and the panel polls ``result()``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass



@dataclass(frozen=True)
class Answer:
    key: object  # the request it answers
    value: object = None
    error: str | None = None


class LatestRequestWorker:
    def __init__(self, fn: Callable[..., object], name: str):
        self._fn = fn
        self._cond = threading.Condition()
        self._pending: tuple | None = None
        self._answer: Answer | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request(self, key, *args) -> None:
        with self._cond:
            self._pending = (key, args)
            self._cond.notify()

    def result(self) -> Answer | None:
        return self._answer

    def stop(self, timeout_s: float = 5.0) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                (key, args), self._pending = self._pending, None
            try:
                self._answer = Answer(key, self._fn(*args))
            except Exception as exc:  # noqa: BLE001 - shown as the answer's one line
                self._answer = Answer(key, error=str(exc).strip() or type(exc).__name__)
