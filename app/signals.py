"""Events and latest values for several callers at once (decision 0040).

* :func:`isolated_signal` declares a psygnal signal whose subscribers are each called on their own:
  one that raises is logged (and reported to ``failure_sink``) and the others still run. Plain psygnal
  stops at the first subscriber that raises, so a buggy display slot would starve a run-file logger.
* :class:`LatestValue` is a one-item mailbox: the newest item and its sequence number, never a queue.
  Producers publish read-only items (arrays are made non-writeable), so a reader can never see a buffer
  that the producer is still writing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
from psygnal import Signal, SignalInstance

_log = logging.getLogger(__name__)

T = TypeVar("T")


class IsolatedSignalInstance(SignalInstance):
    """A psygnal SignalInstance that calls every subscriber even when an earlier one raises.

    ``failure_sink`` (set by the owner, e.g. the runner) receives ``(signal_name, exception)`` once per
    failing subscriber and signal; KeyboardInterrupt and SystemExit still propagate.
    """

    failure_sink: Callable[[str, BaseException], None] | None = None

    def _run_emit_loop_immediate(self) -> None:
        args = self._emit_queue.popleft()
        for caller in list(self._slots):
            if not caller._is_alive():
                continue
            try:
                caller.cb(args)
            except Exception as exc:  # noqa: BLE001 - one subscriber's bug never silences the others
                self._report(caller, exc)

    def _report(self, caller, exc: BaseException) -> None:
        reported = self.__dict__.setdefault("_qiup_reported", set())
        key = id(caller)
        if key in reported:
            return
        reported.add(key)
        _log.error("a subscriber of '%s' failed; the others still run", self.name, exc_info=exc)
        sink = self.failure_sink
        if sink is not None:
            try:
                sink(self.name, exc)
            except Exception:  # noqa: BLE001
                _log.exception("failure sink of '%s' failed", self.name)


def isolated_signal(*types: Any, **kwargs: Any) -> Signal:
    """``Signal(*types)`` whose subscribers are isolated from each other (see the module docstring)."""
    return Signal(*types, signal_instance_class=IsolatedSignalInstance, **kwargs)


@dataclass(frozen=True)
class Latest(Generic[T]):
    """An item taken from a :class:`LatestValue`: the value and its sequence number (1, 2, ...)."""

    seq: int
    value: T


class LatestValue(Generic[T]):
    """Holds only the newest item; ``publish`` from a producer thread, ``get`` from any reader.

    A reader that is slower than the producer simply skips items (``seq`` tells how many). Arrays
    (and arrays inside dataclasses' ``__dict__``) are frozen read-only on publish.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._item: Latest[T] | None = None
        self._seq = 0

    def publish(self, value: T) -> int:
        _freeze(value)
        with self._lock:
            self._seq += 1
            self._item = Latest(self._seq, value)
            return self._seq

    def get(self) -> Latest[T] | None:
        """The newest item, or None if nothing was published yet."""
        with self._lock:
            return self._item

    def get_newer(self, seq: int) -> Latest[T] | None:
        """The newest item if it is newer than ``seq``, else None (for a timer that repaints on change)."""
        with self._lock:
            item = self._item
        return item if item is not None and item.seq > seq else None

    @property
    def seq(self) -> int:
        return self._seq

    def clear(self) -> None:
        with self._lock:
            self._item = None


def _freeze(value: Any) -> None:
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
        return
    attrs = getattr(value, "__dict__", None)
    if attrs is None and hasattr(value, "__dataclass_fields__"):
        attrs = {name: getattr(value, name) for name in value.__dataclass_fields__}
    if attrs:
        for item in attrs.values():
            if isinstance(item, np.ndarray):
                item.flags.writeable = False
