"""The common device life cycle and the rules every call follows (decision 0040).

``Device`` owns one :class:`PriorityRLock` and a :class:`BenchOwnership` (a private one until the bench
factory sets the bench's shared one). Public contract methods live in the role classes and are
concrete: they check connection, ownership, limits and shapes, then call a driver hook (``_..._hw``)
inside ``self.transaction()``. Drivers implement only hooks.
"""

from __future__ import annotations

import abc
import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from drivers.contracts.locks import PriorityRLock
from drivers.contracts.readbacks import Capabilities, Readback
from drivers.contracts.values import DeviceIdentity
from drivers.errors import DeviceNotConnected
from drivers.ownership import BenchOwnership


class Device(abc.ABC):
    """Connect, identity, readback, capabilities, close (idempotent, leaves the device safe)."""

    name: str = "device"
    readback_type: type[Readback] = Readback

    def __init__(self, name: str | None = None) -> None:
        if name is not None:
            self.name = name
        self.lock = PriorityRLock()
        self.ownership = BenchOwnership()  # the bench factory replaces it by the bench's shared one
        self._cached_state: Readback = self.readback_type()
        self._capabilities: Capabilities | None = None

    # ------------------------------------------------------------------ driver hooks
    @abc.abstractmethod
    def _connect_hw(self) -> None:
        """Open the link and check the device answers (called with the lock held)."""

    @abc.abstractmethod
    def _close_hw(self) -> None:
        """Put the device in its safe state and release the link; safe to call twice."""

    @property
    @abc.abstractmethod
    def connected(self) -> bool:
        """True between ``connect()`` and ``close()`` (no I/O)."""

    @abc.abstractmethod
    def _identity_hw(self) -> DeviceIdentity:
        """Model, serial and firmware as the device reports them."""

    @abc.abstractmethod
    def _read_state_hw(self) -> Readback:
        """Query the device and return its readback record (lock held; no fault counting in sims)."""

    @abc.abstractmethod
    def _capabilities_hw(self) -> Capabilities:
        """What the device supports, read at connect (lock held)."""

    # ------------------------------------------------------------------ public life cycle
    def connect(self) -> None:
        with self.transaction():
            if self.connected:
                return
            self._connect_hw()
            self._capabilities = self._capabilities_hw()

    def close(self) -> None:
        with self.lock.hold(priority=True):
            self._close_hw()
            self._cached_state = dataclasses.replace(self._cached_state, connected=False)

    def identity(self) -> DeviceIdentity:
        with self.transaction():
            self.require_connected()
            return self._identity_hw()

    def capabilities(self) -> Capabilities:
        """What the device supports and its ranges (fixed at connect, no I/O)."""
        self.require_connected()
        if self._capabilities is None:  # connected by a subclass that bypassed connect()
            with self.transaction():
                self._capabilities = self._capabilities_hw()
        return self._capabilities

    def read_state(self) -> Readback:
        """Query the device (serialised), update ``cached_state`` and return the fresh record."""
        with self.transaction():
            if not self.connected:
                state = dataclasses.replace(self._cached_state, connected=False)
            else:
                state = dataclasses.replace(self._read_state_hw(), time_s=time.monotonic(), connected=True)
            self._cached_state = state
            return state

    def try_read_state(self, lock_timeout_s: float) -> Readback | None:
        """Like ``read_state`` but gives up (None) if the device stays busy for ``lock_timeout_s``."""
        if not self.lock.acquire(timeout=lock_timeout_s):
            return None
        try:
            return self.read_state()
        finally:
            self.lock.release()

    @property
    def cached_state(self) -> Readback:
        """The last readback (never does I/O; ``time_s`` says how old it is)."""
        return self._cached_state

    def status(self) -> dict[str, Any]:
        """The current readback as a plain dict, for logs."""
        return self.read_state().as_dict()

    # ------------------------------------------------------------------ rules shared by the roles
    @contextmanager
    def transaction(self, *, priority: bool = False) -> Iterator[None]:
        """Hold this device's lock for one hardware transaction (never across a wait)."""
        self.lock.acquire(priority=priority)
        try:
            yield
        finally:
            self.lock.release()

    def require_connected(self) -> None:
        if not self.connected:
            raise DeviceNotConnected("not connected (call connect() first)", device=self.name)

    def check_may_act(self, action: str) -> None:
        """BenchBusy unless the calling thread may move or set devices now (decision 0040)."""
        self.ownership.check(self.name, action)

    def _update_cache(self, **fields: Any) -> None:
        """Record values a setter has just sent (``time_s`` stays that of the last full reading)."""
        self._cached_state = dataclasses.replace(self._cached_state, **fields)

    def _clock_s(self) -> float:
        """The device's clock for waits (the simulator's passes simulated time)."""
        return time.monotonic()

    def _wait_s(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
