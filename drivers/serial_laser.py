"""What every serial pump-laser driver shares: the port life cycle, error translation, one retry after a
corrupted reply, and a ``close()`` that tries hard to leave emission off (flush, retry, reopen) and says
so when it cannot. Limits, ownership and locking are the :class:`Laser` contract's.
"""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from drivers.contracts import Laser
from drivers.errors import DeviceError, DeviceNotConnected
from drivers.link import DeadlineSerialAdapter, link_errors, open_port, retry_once_on_corrupt

log = logging.getLogger(__name__)
T = TypeVar("T")


class SerialLaser(Laser):
    """Base for lasers behind a line protocol; subclasses build the protocol object and speak it."""

    read_termination = "\r\n"
    write_termination = "\r"

    def __init__(self, *, port: str, baudrate: int, timeout_s: float, max_power_w: float, name: str = "laser"):
        super().__init__(name)
        self.port = port
        self.baudrate = baudrate
        self.timeout_s = timeout_s
        self.config_max_power_w = max_power_w
        self._adapter: DeadlineSerialAdapter | None = None
        self._instrument: Any = None
        self._device_limits_w = (0.0, max_power_w)

    # ------------------------------------------------------------------ subclass hooks
    @abc.abstractmethod
    def _make_instrument(self, adapter: DeadlineSerialAdapter) -> Any:
        """Build the protocol object on an open adapter (may talk to the device)."""

    @abc.abstractmethod
    def _read_device_limits_w(self) -> tuple[float, float]:
        """(min, max) power the device itself allows."""

    @abc.abstractmethod
    def _send_emission_off(self) -> None:
        """Send the emission-off command and check it was accepted."""

    # ------------------------------------------------------------------ life cycle
    @property
    def connected(self) -> bool:
        return self._instrument is not None

    def _connect_hw(self) -> None:
        adapter = self._open_adapter()
        try:
            with self.guard("connecting"):
                self._instrument = self._make_instrument(adapter)
                self._adapter = adapter
                self._device_limits_w = self._read_device_limits_w()
        except Exception:
            self._instrument = None
            self._adapter = None
            adapter.close()
            raise

    def _close_hw(self) -> None:
        """Emission off (retrying after a flush, then on a reopened port), release the port; idempotent.

        Raises DeviceError once if emission-off could not be confirmed, after releasing the port.
        """
        if self._adapter is None:
            return
        problem = None
        try:
            self._turn_off_hard()
        except DeviceError as exc:
            problem = exc
        finally:
            self._adapter.close()
            self._adapter = None
            self._instrument = None
        if problem is not None:
            log.error("%s: emission-off not confirmed at close: %s", self.name, problem)
            raise DeviceError(f"could not confirm emission off while closing ({problem})", device=self.name)

    def _turn_off_hard(self) -> None:
        attempts = 0
        while True:
            attempts += 1
            try:
                self._flush_quietly()
                with self.guard("switching emission off"):
                    self._send_emission_off()
                return
            except DeviceError:
                if attempts >= 3:
                    raise
                if attempts == 2:  # the port itself may be dead: reopen it and speak afresh
                    self._reopen()
                time.sleep(0.05)

    def _reopen(self) -> None:
        try:
            self._adapter.close()
            adapter = self._open_adapter()
            with self.guard("reopening the port"):
                self._instrument = self._make_instrument(adapter)
            self._adapter = adapter
        except DeviceError as exc:
            log.warning("%s: reopening the port failed: %s", self.name, exc)

    def _flush_quietly(self) -> None:
        try:
            time.sleep(0.01)
            self._adapter.flush_read_buffer()
        except DeviceError:
            pass

    def _open_adapter(self) -> DeadlineSerialAdapter:
        connection = open_port(self.port, baudrate=self.baudrate, timeout_s=self.timeout_s, device=self.name)
        return DeadlineSerialAdapter(
            connection,
            device=self.name,
            timeout_s=self.timeout_s,
            read_termination=self.read_termination,
            write_termination=self.write_termination,
        )

    # ------------------------------------------------------------------ helpers
    def guard(self, action: str):
        """Context: any failure inside becomes a DeviceError naming this laser and the action."""
        return link_errors(self.name, action)

    def io(self, action: str, body: Callable[[], T]) -> T:
        """One protocol exchange, errors translated, retried once after a corrupted reply. Every laser
        command used here sets an absolute state (power, emission, mode), so re-sending is safe."""
        def attempt() -> T:
            with self.guard(action):
                return body()
        return retry_once_on_corrupt(attempt, recover=self._drain, device=self.name, what=action)

    def _drain(self) -> None:
        if self._adapter is not None:
            self._adapter.drain()

    def instrument(self) -> Any:
        if self._instrument is None:
            raise DeviceNotConnected("not connected (call connect() first)", device=self.name)
        return self._instrument

    def _power_limits_w(self) -> tuple[float, float]:
        low, high = self._device_limits_w
        return max(0.0, low), min(high, self.config_max_power_w)
