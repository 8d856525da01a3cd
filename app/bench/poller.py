"""Keeps every device's readback fresh from one background thread, so readers never wait on a device.

Each round calls ``read_state`` on every connected device, skipping a device whose lock stays busy
longer than ``lock_timeout_s`` (its record keeps its old ``time_s``, so readers see its age), and
publishes each fresh record through the isolated signal ``readback(role, record)`` (decision 0040).
"""

from __future__ import annotations

import logging
import threading
import time

from app.signals import isolated_signal
from drivers.contracts import Device, Readback

log = logging.getLogger(__name__)


class ReadbackPoller:
    """``start()`` / ``stop()`` a thread that refreshes ``devices`` every ``interval_s``."""

    readback = isolated_signal(str, object)  # (role, frozen readback record)

    def __init__(self, devices: dict[str, Device], *, interval_s: float = 0.2, lock_timeout_s: float = 0.02):
        if interval_s <= 0:
            raise ValueError(f"poll interval must be > 0 s, not {interval_s!r}")
        self.devices = dict(devices)
        self.interval_s = float(interval_s)
        self.lock_timeout_s = float(lock_timeout_s)
        self.rounds = 0
        self.skipped: dict[str, int] = {role: 0 for role in self.devices}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing: set[str] = set()

    def start(self) -> "ReadbackPoller":
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="qiup-readback-poller", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop polling and wait for the thread (idempotent)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def poll_once(self) -> dict[str, Readback]:
        """One round: refresh each device that is free (or frees up within the lock timeout)."""
        fresh: dict[str, Readback] = {}
        for role, device in self.devices.items():
            if self._stop.is_set() and self._thread is not None:
                break
            if not device.connected:
                continue
            try:
                record = device.try_read_state(self.lock_timeout_s)
            except Exception as exc:  # noqa: BLE001 - a failing device must not stop the others' readbacks
                if role not in self._failing:
                    log.warning("readback of %s failed: %s", role, exc)
                    self._failing.add(role)
                continue
            self._failing.discard(role)
            if record is None:
                self.skipped[role] = self.skipped.get(role, 0) + 1
                continue
            fresh[role] = record
            self.readback.emit(role, record)
        self.rounds += 1
        return fresh

    def _run(self) -> None:
        next_s = time.monotonic()
        while not self._stop.is_set():
            self.poll_once()
            next_s += self.interval_s
            delay = next_s - time.monotonic()
            if delay < 0:  # a slow round: start the next one now, do not try to catch up
                next_s, delay = time.monotonic(), 0.0
            if self._stop.wait(delay):
                return
